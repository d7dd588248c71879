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
    /// Where appointments are, as a confirmation gives it: the clinic's
    /// address on one line, or, until the content publishes one, its
    /// hospital's name.
    pub place: String,
    /// The hospital's name: the calendar entry's organizer, as neutral as
    /// its title, since others may read a patient's calendar.
    pub hospital: String,
    /// An appointment's title in the patient's calendar.
    pub appointment_summary: String,
    /// An appointment's length in the patient's calendar.
    pub appointment_length: time::Duration,
    /// The consultants' names a confirmation may give, by slug: none
    /// unless the clinic's `appointment_names_consultant` allows it.
    pub consultant_names: std::collections::BTreeMap<crate::booking::Slug, String>,
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
            let place = if site.address.is_empty() {
                site.hospital.clone()
            } else {
                site.address.join(", ")
            };
            Some(Clinic {
                name,
                phone: site.phone.clone(),
                phone_e164,
                urgent: site.urgent.clone(),
                place,
                hospital: site.hospital.clone(),
                appointment_summary: site
                    .appointment_summary
                    .clone()
                    .unwrap_or_else(|| format!("Appointment at {}", site.hospital)),
                appointment_length: time::Duration::minutes(i64::from(
                    site.appointment_minutes
                        .unwrap_or(crate::content::model::Site::APPOINTMENT_MINUTES),
                )),
                consultant_names: if site.appointment_names_consultant {
                    content
                        .consultants
                        .iter()
                        .map(|c| (c.slug.clone(), c.name.clone()))
                        .collect()
                } else {
                    Default::default()
                },
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
                appointment_summary: None,
                appointment_minutes: None,
                appointment_names_consultant: false,
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
        // No address published yet: the hospital stands for it.
        assert_eq!(clinic.place, "Fixture Hospital");
        assert_eq!(
            clinic.appointment_summary,
            "Appointment at Fixture Hospital"
        );
        assert_eq!(clinic.appointment_length, time::Duration::minutes(30));
    }

    #[test]
    fn a_published_address_and_appointment_settings_are_what_confirmations_give() {
        let mut published = content("Fixture Clinic", "+442079460000");
        if let Some(site) = published.site.as_mut() {
            site.address = vec!["1 Fixture Road".into(), "London N1 1AA".into()];
            site.appointment_summary = Some("Clinic visit".into());
            site.appointment_minutes = Some(45);
        }
        let Published(Some(clinic)) = Published::of(&published).unwrap() else {
            panic!("the site's details are usable");
        };
        assert_eq!(clinic.place, "1 Fixture Road, London N1 1AA");
        assert_eq!(clinic.appointment_summary, "Clinic visit");
        assert_eq!(clinic.appointment_length, time::Duration::minutes(45));
    }

    #[test]
    fn consultants_are_named_only_when_the_clinic_allows_it() {
        let mut published = content("Fixture Clinic", "+442079460000");
        published.consultants = vec![crate::content::model::Consultant {
            slug: crate::booking::Slug::parse("jane-doe").unwrap(),
            name: "Dr Jane Doe".into(),
            role: "Consultant".into(),
            specialties: Vec::new(),
            gmc_number: None,
            biography: crate::content::model::RichText {
                markdown: String::new(),
                html: String::new(),
            },
        }];
        let Published(Some(clinic)) = Published::of(&published).unwrap() else {
            panic!("the site's details are usable");
        };
        assert!(clinic.consultant_names.is_empty());
        if let Some(site) = published.site.as_mut() {
            site.appointment_names_consultant = true;
        }
        let Published(Some(clinic)) = Published::of(&published).unwrap() else {
            panic!("the site's details are usable");
        };
        assert_eq!(
            clinic
                .consultant_names
                .get(&crate::booking::Slug::parse("jane-doe").unwrap())
                .map(String::as_str),
            Some("Dr Jane Doe")
        );
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
