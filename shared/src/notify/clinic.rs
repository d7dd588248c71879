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
    /// Where urgent help is, in the clinic's words, for the acknowledgement.
    pub urgent: Option<String>,
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
                urgent: site.urgent.clone(),
            })
        });
        if clinic.is_none() {
            tracing::error!("the content publishes no usable site details: emails are held");
        }
        Ok(Self(clinic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::Site;

    fn content(name: &str, phone_e164: &str) -> Content {
        Content {
            site: Some(Site {
                name: name.into(),
                hospital: "Fixture Hospital".into(),
                phone: "020 7946 0000".into(),
                phone_e164: phone_e164.into(),
                urgent: None,
                email: None,
                address: Vec::new(),
                about: None,
            }),
            ..Content::default()
        }
    }

    #[test]
    fn the_emails_name_the_clinic_the_content_publishes() {
        let Published(Some(clinic)) =
            Published::of(&content("Fixture Clinic", "+442079460000")).unwrap()
        else {
            panic!("the site's details are usable");
        };
        assert_eq!(clinic.name.as_str(), "Fixture Clinic");
        assert_eq!(clinic.phone, "020 7946 0000");
        assert_eq!(clinic.phone_e164.as_str(), "+442079460000");
    }

    #[test]
    fn without_usable_site_details_there_is_no_clinic_to_send_as() {
        assert_eq!(Published::of(&Content::default()).unwrap(), Published(None));
        assert_eq!(
            Published::of(&content("Fixture\nClinic", "+442079460000")).unwrap(),
            Published(None)
        );
        assert_eq!(
            Published::of(&content("Fixture Clinic", "020 7946 0000 x")).unwrap(),
            Published(None)
        );
    }
}
