//! The clinic's content as the site reads it: conditions, consultants,
//! support services, prices and the site's contact details.
//!
//! These types are what `content/` parses into (checked there, once), what
//! the content table stores as JSON, and what the content API answers with.

use crate::booking::Slug;
use serde::{Deserialize, Serialize};

/// Markdown as an editor wrote it, next to the HTML it renders to. Raw HTML
/// in the Markdown is escaped, so the HTML is safe to insert into a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RichText {
    /// The Markdown source.
    pub markdown: String,
    /// The rendered HTML.
    pub html: String,
}

/// One `##` section of a page, so the site can lay out and link to each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Section {
    /// An anchor made from the title (`see-a-doctor-promptly`), unique in its page.
    pub id: String,
    /// The heading's text.
    pub title: String,
    /// The section's body.
    #[serde(flatten)]
    pub text: RichText,
}

/// A named item of a structured list (a type, test, scan or treatment),
/// with an optional line saying more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// The item's name.
    pub name: String,
    /// One or two sentences about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Symptoms that share a cause (where the tumour is, or the hormone it makes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SymptomGroup {
    /// What causes them.
    pub cause: String,
    /// The symptoms, in plain words.
    pub symptoms: Vec<String>,
}

/// A condition the clinic treats: its page, with the lists a site shows as
/// lists (types, symptoms, tests, scans, treatments) kept structured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Condition {
    /// Its slug, which is also the booking's specialty value.
    pub slug: Slug,
    /// The page title.
    pub title: String,
    /// A sentence or two for lists and search results.
    pub summary: String,
    /// When the page was last reviewed (`YYYY-MM-DD`).
    pub updated: String,
    /// Slugs of other conditions a reader may also want.
    pub related_specialties: Vec<Slug>,
    /// Its types.
    pub types: Vec<Entry>,
    /// Its symptoms, grouped by cause.
    pub symptoms: Vec<SymptomGroup>,
    /// The tests that diagnose it.
    pub tests: Vec<Entry>,
    /// The scans that find it.
    pub scans: Vec<Entry>,
    /// The treatments for it.
    pub treatments: Vec<Entry>,
    /// The page's text, section by section.
    pub sections: Vec<Section>,
}

/// What `GET /v1/conditions` lists of each condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionSummary<'a> {
    /// Its slug.
    #[cfg_attr(feature = "openapi", schema(value_type = Slug))]
    pub slug: &'a Slug,
    /// Its title.
    pub title: &'a str,
    /// Its summary.
    pub summary: &'a str,
    /// When it was last reviewed.
    pub updated: &'a str,
}

impl Condition {
    /// The condition as a list shows it.
    pub fn summary(&self) -> ConditionSummary<'_> {
        ConditionSummary {
            slug: &self.slug,
            title: &self.title,
            summary: &self.summary,
            updated: &self.updated,
        }
    }
}

/// A consultant of the clinic. Only people the clinic has named are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consultant {
    /// Their slug (`jane-doe`).
    pub slug: Slug,
    /// Their name as the site shows it, with any title (`Dr Jane Doe`).
    pub name: String,
    /// Their role (`Consultant Medical Oncologist`).
    pub role: String,
    /// The conditions they see patients for (condition slugs).
    pub specialties: Vec<Slug>,
    /// Their General Medical Council number, seven digits, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmc_number: Option<String>,
    /// Their biography.
    pub biography: RichText,
}

/// What `GET /v1/consultants` lists of each consultant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsultantSummary<'a> {
    /// Their slug.
    #[cfg_attr(feature = "openapi", schema(value_type = Slug))]
    pub slug: &'a Slug,
    /// Their name.
    pub name: &'a str,
    /// Their role.
    pub role: &'a str,
    /// The conditions they see patients for.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Slug>))]
    pub specialties: &'a [Slug],
}

impl Consultant {
    /// The consultant as a list shows them.
    pub fn summary(&self) -> ConsultantSummary<'_> {
        ConsultantSummary {
            slug: &self.slug,
            name: &self.name,
            role: &self.role,
            specialties: &self.specialties,
        }
    }
}

/// `GET /v1/conditions`: every condition as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionList<'a> {
    /// The conditions, by title.
    pub conditions: Vec<ConditionSummary<'a>>,
}

/// `GET /v1/consultants`: every consultant (of one specialty, when asked)
/// as a list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsultantList<'a> {
    /// The consultants, by slug.
    pub consultants: Vec<ConsultantSummary<'a>>,
}

/// `GET /v1/support-services`: every support service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportServiceList<'a> {
    /// The services, by title.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<SupportService>))]
    pub support_services: &'a [SupportService],
}

/// Who a support service is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// People who are being treated.
    Patients,
    /// Their families, partners, friends and carers.
    Families,
}

impl Audience {
    /// Every audience, with its name in files and answers.
    pub const ALL: [(&'static str, Audience); 2] =
        [("patients", Self::Patients), ("families", Self::Families)];
}

/// A support service (counselling, group sessions, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportService {
    /// Its slug.
    pub slug: Slug,
    /// Its name.
    pub title: String,
    /// A sentence or two about it.
    pub summary: String,
    /// Who it is for.
    pub audience: Vec<Audience>,
    /// The full description.
    pub description: RichText,
}

/// How a priced procedure can be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HowToBook {
    /// Through the online appointment request form.
    Online,
    /// By telephoning the clinic only.
    Phone,
    /// Either way.
    OnlineOrPhone,
}

impl HowToBook {
    /// Every choice, with its name in files and answers.
    pub const ALL: [(&'static str, HowToBook); 3] = [
        ("online", Self::Online),
        ("phone", Self::Phone),
        ("online_or_phone", Self::OnlineOrPhone),
    ];
}

/// A price in pence, so that no sum is ever rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Pence(pub u32);

impl Pence {
    /// The price as the site prints it: `£1,250.00`.
    pub fn display(self) -> String {
        let pounds = (self.0 / 100).to_string();
        let mut grouped = String::new();
        for (i, digit) in pounds.chars().enumerate() {
            if i > 0 && (pounds.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("£{grouped}.{:02}", self.0 % 100)
    }
}

/// One row of the price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceRow {
    /// What the patient pays for.
    pub procedure: String,
    /// The price in pence (GBP).
    pub price_pence: Pence,
    /// The price as printed, `£1,250.00`.
    pub price: String,
    /// How it can be booked.
    pub booking: HowToBook,
    /// The condition it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<Slug>,
    /// Anything the patient should know about the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The price list, in the clinic's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceList {
    /// Always `GBP`.
    pub currency: Currency,
    /// The rows.
    pub rows: Vec<PriceRow>,
}

/// The currency of every price: pounds sterling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Currency {
    /// Pounds sterling.
    #[default]
    #[serde(rename = "GBP")]
    Gbp,
}

/// The clinic's contact details, as every page shows them (`GET /v1/site`
/// answers [`Site::answer`]), and the settings of the emails that give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The clinic's name.
    pub name: String,
    /// The hospital it works from.
    pub hospital: String,
    /// The phone number as people read it (`020 8247 3351`).
    pub phone: String,
    /// The same number for `tel:` links (`+442082473351`).
    pub phone_e164: String,
    /// Where urgent help is, in the clinic's words: the form is not for
    /// urgent medical problems, and says so on the form, the thank-you page
    /// and the acknowledgement. `content check` requires it; content pushed
    /// before it existed has none until pushed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<String>,
    /// An email address for enquiries, when the clinic publishes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Postal address lines, when published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<String>,
    /// A short text about the clinic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<RichText>,
    /// The title of an appointment in the patient's calendar, when the
    /// clinic sets one; otherwise `Appointment at` and the hospital. Others
    /// may read a patient's calendar: it says nothing about health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_summary: Option<String>,
    /// How long an appointment is, in minutes, when the clinic sets it;
    /// otherwise [`Site::APPOINTMENT_MINUTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_minutes: Option<u16>,
    /// Whether a confirmation names the consultant staff booked. Off
    /// unless the clinic turns it on: a consultant's name, looked up, says
    /// what they treat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub appointment_names_consultant: bool,
}

/// The clinic's contact details, as every page shows them: what `GET
/// /v1/site` answers, without the settings only the emails read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Site))]
pub struct SiteAnswer<'a> {
    /// The clinic's name.
    pub name: &'a str,
    /// The hospital it works from.
    pub hospital: &'a str,
    /// The phone number as people read it (`020 8247 3351`).
    pub phone: &'a str,
    /// The same number for `tel:` links (`+442082473351`).
    pub phone_e164: &'a str,
    /// Where urgent help is, in the clinic's words: the form is not for
    /// urgent medical problems, and says so on the form, the thank-you page
    /// and the acknowledgement. `content check` requires it; content pushed
    /// before it existed has none until pushed again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgent: Option<&'a str>,
    /// An email address for enquiries, when the clinic publishes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// Postal address lines, when published.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub address: &'a [String],
    /// A short text about the clinic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<&'a RichText>,
}

impl Site {
    /// The site as `GET /v1/site` answers it.
    pub fn answer(&self) -> SiteAnswer<'_> {
        SiteAnswer {
            name: &self.name,
            hospital: &self.hospital,
            phone: &self.phone,
            phone_e164: &self.phone_e164,
            urgent: self.urgent.as_deref(),
            email: self.email.as_deref(),
            address: &self.address,
            about: self.about.as_ref(),
        }
    }

    /// An appointment's length in a calendar when the clinic sets none.
    pub const APPOINTMENT_MINUTES: u16 = 30;

    /// The shortest and longest appointment the content may set, in minutes.
    pub const APPOINTMENT_MINUTES_RANGE: std::ops::RangeInclusive<u16> = 5..=480;
}

/// One version of the consent wording the booking form shows, word for
/// word: a booking names its version, and keeps the hash of these words,
/// so what each patient agreed to can be shown exactly, years later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentWording {
    /// The version the form sends as `consent_version` (a slug, such as `2026-11`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: Slug,
    /// The day this wording was introduced (`YYYY-MM-DD`): the latest is
    /// the one the form shows.
    pub introduced: String,
    /// The label of the required box: consent to be contacted about the request.
    pub contact: String,
    /// The label of the optional box for news by email.
    pub marketing_email: String,
    /// The label of the optional box for news by text message.
    pub marketing_sms: String,
    /// SHA-256 (hex) of the three labels, each followed by a line feed, in
    /// the order above: the fingerprint a booking keeps of what it was shown.
    pub sha256: String,
    /// When this version was first pushed to the store (RFC 3339), set by
    /// `content push`: the wording it replaced is still accepted for a
    /// grace period after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

impl ConsentWording {
    /// Every published wording, as a content cache holds them for a
    /// subject access export to quote.
    pub fn all_of(content: &Content) -> Result<Vec<Self>, crate::store::StoreError> {
        Ok(content.consent.clone())
    }

    /// The hash of three labels, as `sha256` holds it.
    pub fn hash_of(contact: &str, marketing_email: &str, marketing_sms: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        for label in [contact, marketing_email, marketing_sms] {
            digest.update(label.as_bytes());
            digest.update(b"\n");
        }
        hex::encode(digest.finalize())
    }
}

/// The clinic's privacy notice: what the site tells patients about their
/// data, linked from the form beside the consent box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivacyNotice {
    /// When the notice was last changed (`YYYY-MM-DD`).
    pub updated: String,
    /// The notice, section by section.
    pub sections: Vec<Section>,
}

/// Everything the content API serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    /// Conditions, by title.
    pub conditions: Vec<Condition>,
    /// Consultants, by slug.
    pub consultants: Vec<Consultant>,
    /// Support services, by title.
    pub support_services: Vec<SupportService>,
    /// The price list.
    pub prices: PriceList,
    /// The contact details (absent until content is pushed).
    pub site: Option<Site>,
    /// Every published version of the consent wording, oldest first.
    pub consent: Vec<ConsentWording>,
    /// The privacy notice (absent until content is pushed).
    pub privacy: Option<PrivacyNotice>,
}

impl Content {
    /// Puts every list in the order the API answers with, whatever order
    /// files or items were read in.
    pub fn sort(&mut self) {
        self.conditions
            .sort_by(|a, b| (&a.title, &a.slug).cmp(&(&b.title, &b.slug)));
        self.consultants.sort_by(|a, b| a.slug.cmp(&b.slug));
        self.support_services
            .sort_by(|a, b| (&a.title, &a.slug).cmp(&(&b.title, &b.slug)));
        self.consent
            .sort_by(|a, b| (&a.introduced, &a.version).cmp(&(&b.introduced, &b.version)));
    }

    /// The consent wording the form shows now: the latest introduced.
    pub fn current_consent(&self) -> Option<&ConsentWording> {
        self.consent.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_with_pounds_grouped() {
        assert_eq!(Pence(0).display(), "£0.00");
        assert_eq!(Pence(5).display(), "£0.05");
        assert_eq!(Pence(25_000).display(), "£250.00");
        assert_eq!(Pence(125_050).display(), "£1,250.50");
        assert_eq!(Pence(123_456_789).display(), "£1,234,567.89");
    }
}
