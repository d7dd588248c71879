//! Who the emails are from and what number they give: the clinic as
//! `content/site.md` publishes it, read through the content cache, so the
//! site, the emails and the form name the clinic the same way.

use crate::booking::UkPhone;
use crate::content::Content;
use crate::mail::HeaderText;
use crate::store::StoreError;

/// The clinic's name and phone, as the emails give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clinic {
    /// The sender's display name and the signature.
    pub name: HeaderText,
    /// The number as people read it (`020 8247 3351`).
    pub phone: String,
    /// The same number for `tel:` links.
    pub phone_e164: UkPhone,
}

/// The clinic of the content published, if its site details are there and
/// usable (the content check makes them so).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published(pub Option<Clinic>);

impl Published {
    /// The clinic of `content`, as the content cache builds it.
    pub fn of(content: &Content) -> Result<Self, StoreError> {
        let clinic = content.site.as_ref().and_then(|site| {
            let name = HeaderText::parse("site name", &site.name).ok()?;
            let phone_e164 = UkPhone::from_stored(&site.phone_e164).ok()?;
            Some(Clinic {
                name,
                phone: site.phone.clone(),
                phone_e164,
            })
        });
        if clinic.is_none() {
            tracing::error!("the content publishes no usable site details: emails are held");
        }
        Ok(Self(clinic))
    }
}
