//! One reader per kind of content file: front matter fields to model values,
//! with every problem at its line.

use super::front_matter::{self, Fields, Layout, LineError};
use super::markdown;
use crate::booking::{Slug, UkPhone};
use crate::content::model::{
    Audience, Condition, ConsentWording, Consultant, Entry, HowToBook, Pence, PriceList, PriceRow,
    PrivacyNotice, Site, SupportService, SymptomGroup,
};

/// A reference from one file to a condition, to check once every file is read.
#[derive(Debug, Clone)]
pub(crate) struct ConditionRef {
    /// Where it is.
    pub line: usize,
    /// The field it is in.
    pub field: &'static str,
    /// The condition it names.
    pub slug: Slug,
}

/// What one readable file yields: its value (when it has no problems), the
/// line of its slug, the condition references it makes and its problems.
/// A file whose front matter cannot be read at all is one `LineError` instead.
#[derive(Debug)]
pub(crate) struct Read<T> {
    pub value: Option<T>,
    pub slug_line: usize,
    pub refs: Vec<ConditionRef>,
    pub problems: Vec<LineError>,
}

/// Front matter fields and body of a file, or the problem that stops reading it.
fn open<'a>(
    text: &'a str,
    allowed: &'static [&'static str],
) -> Result<(Fields<'a>, &'a str, usize), LineError> {
    let split = front_matter::split(text)?;
    let map = front_matter::parse(&split)?;
    let layout = Layout::new(&split);
    Ok((
        Fields::new(map, layout, allowed),
        split.body,
        split.body_line,
    ))
}

fn refs(field: &'static str, slugs: &[(usize, Slug)]) -> Vec<ConditionRef> {
    slugs
        .iter()
        .map(|(line, slug)| ConditionRef {
            line: *line,
            field,
            slug: slug.clone(),
        })
        .collect()
}

/// Every problem of a file, or its value.
fn finish<T>(
    fields: Fields<'_>,
    mut body_problems: Vec<LineError>,
    slug_line: usize,
    refs: Vec<ConditionRef>,
    value: impl FnOnce() -> Option<T>,
) -> Result<Read<T>, LineError> {
    let mut problems = fields.finish();
    problems.append(&mut body_problems);
    let value = if problems.is_empty() { value() } else { None };
    Ok(Read {
        value,
        slug_line,
        refs,
        problems,
    })
}

fn entries(fields: &mut Fields<'_>, key: &'static str) -> Vec<Entry> {
    fields.items(key, &["name", "detail"], |item| {
        let name = item.text("name");
        let detail = item.optional_text("detail");
        Some(Entry {
            name: name?,
            detail,
        })
    })
}

fn date(fields: &mut Fields<'_>, key: &str) -> Option<String> {
    let text = fields.text(key)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(&text, &format) {
        Ok(_) => Some(text),
        Err(_) => {
            let line = fields.layout().key(key);
            fields.problem(
                line,
                format!("`{key}` {text:?} is not a date like 2026-11-24"),
            );
            None
        }
    }
}

const CONDITION_FIELDS: &[&str] = &[
    "slug",
    "title",
    "summary",
    "updated",
    "related_specialties",
    "types",
    "symptoms",
    "tests",
    "scans",
    "treatments",
];

/// A body's `##` sections, and every problem of its Markdown.
fn sectioned(body: &str, body_line: usize) -> (Vec<crate::content::Section>, Vec<LineError>) {
    let mut problems = markdown::problems(body, body_line);
    match markdown::sections(body, body_line) {
        Ok(sections) => (sections, problems),
        Err(mut more) => {
            problems.append(&mut more);
            (Vec::new(), problems)
        }
    }
}

/// A condition page: `conditions/<name>.md`.
pub(crate) fn condition(text: &str) -> Result<Read<Condition>, LineError> {
    let (mut fields, body, body_line) = open(text, CONDITION_FIELDS)?;
    let slug_line = fields.layout().key("slug");
    let slug = fields.slug("slug");
    let title = fields.text("title");
    let summary = fields.text("summary");
    let updated = date(&mut fields, "updated");
    let related = fields.slugs("related_specialties");
    let types = entries(&mut fields, "types");
    let symptoms = fields.items("symptoms", &["cause", "symptoms"], |item| {
        let cause = item.text("cause");
        let symptoms = item.texts("symptoms");
        if symptoms.is_empty() && item.value("symptoms").is_some() {
            item.problem("symptoms", "`symptoms` lists no symptom");
        }
        Some(SymptomGroup {
            cause: cause?,
            symptoms,
        })
    });
    let tests = entries(&mut fields, "tests");
    let scans = entries(&mut fields, "scans");
    let treatments = entries(&mut fields, "treatments");
    if let Some(slug) = &slug {
        for (line, related) in &related {
            if related == slug {
                fields.problem(*line, "a condition cannot be related to itself");
            }
        }
    }
    let (sections, body_problems) = sectioned(body, body_line);
    let refs = refs("related_specialties", &related);
    finish(fields, body_problems, slug_line, refs, || {
        Some(Condition {
            slug: slug?,
            title: title?,
            summary: summary?,
            updated: updated?,
            related_specialties: related.into_iter().map(|(_, s)| s).collect(),
            types,
            symptoms,
            tests,
            scans,
            treatments,
            sections,
        })
    })
}

const CONSULTANT_FIELDS: &[&str] = &["slug", "name", "role", "specialties", "gmc_number"];

/// A consultant: `consultants/<name>.md`, the body their biography.
pub(crate) fn consultant(text: &str) -> Result<Read<Consultant>, LineError> {
    let (mut fields, body, body_line) = open(text, CONSULTANT_FIELDS)?;
    let slug_line = fields.layout().key("slug");
    let slug = fields.slug("slug");
    let name = fields.text("name");
    let role = fields.text("role");
    let specialties = fields.slugs("specialties");
    if specialties.is_empty() && fields.problems.is_empty() {
        let line = fields.layout().key("specialties");
        fields.problem(
            line,
            "`specialties` lists the conditions the consultant sees patients for",
        );
    }
    let gmc_number = fields.optional_text("gmc_number");
    if let Some(number) = &gmc_number {
        if number.len() != 7 || !number.bytes().all(|b| b.is_ascii_digit()) {
            let line = fields.layout().key("gmc_number");
            fields.problem(line, format!("`gmc_number` {number:?} is not seven digits"));
        }
    }
    let mut body_problems = markdown::problems(body, body_line);
    if body.trim().is_empty() {
        body_problems.push((
            body_line,
            "the biography (the text after the front matter) is empty".into(),
        ));
    }
    let refs = refs("specialties", &specialties);
    finish(fields, body_problems, slug_line, refs, || {
        Some(Consultant {
            slug: slug?,
            name: name?,
            role: role?,
            specialties: specialties.into_iter().map(|(_, s)| s).collect(),
            gmc_number,
            biography: markdown::rich_text(body),
        })
    })
}

const SUPPORT_FIELDS: &[&str] = &["slug", "title", "summary", "audience"];

/// A support service: `support-services/<name>.md`, the body its description.
pub(crate) fn support_service(text: &str) -> Result<Read<SupportService>, LineError> {
    let (mut fields, body, body_line) = open(text, SUPPORT_FIELDS)?;
    let slug_line = fields.layout().key("slug");
    let slug = fields.slug("slug");
    let title = fields.text("title");
    let summary = fields.text("summary");
    let mut audience = Vec::new();
    for (line, value) in fields.list("audience") {
        match Audience::ALL
            .iter()
            .find(|(name, _)| value.as_str() == Some(name))
        {
            Some((_, a)) if !audience.contains(a) => audience.push(*a),
            Some(_) => fields.problem(line, "`audience` lists the same audience twice"),
            None => fields.problem(line, "`audience` takes `patients` and `families`"),
        }
    }
    if audience.is_empty() && fields.problems.is_empty() {
        let line = fields.layout().key("audience");
        fields.problem(
            line,
            "`audience` says who the service is for: patients, families",
        );
    }
    let mut body_problems = markdown::problems(body, body_line);
    if body.trim().is_empty() {
        body_problems.push((
            body_line,
            "the description (the text after the front matter) is empty".into(),
        ));
    }
    finish(fields, body_problems, slug_line, Vec::new(), || {
        Some(SupportService {
            slug: slug?,
            title: title?,
            summary: summary?,
            audience,
            description: markdown::rich_text(body),
        })
    })
}

/// The most a price may be: a million pounds, well beyond any real price.
const PRICE_MAX_PENCE: u64 = 100_000_000;

/// The price list: `prices.md`, its rows in the front matter.
pub(crate) fn prices(text: &str) -> Result<Read<PriceList>, LineError> {
    let (mut fields, body, body_line) = open(text, &["rows"])?;
    let mut refs = Vec::new();
    let rows = fields.items(
        "rows",
        &["procedure", "price_pence", "booking", "specialty", "notes"],
        |item| {
            let procedure = item.text("procedure");
            let price = match item.value("price_pence").map(|v| v.as_u64()) {
                Some(Some(p)) if p > 0 && p <= PRICE_MAX_PENCE => u32::try_from(p).ok().map(Pence),
                Some(_) => {
                    item.problem(
                        "price_pence",
                        "`price_pence` is a whole number of pence, more than 0 (£250 is 25000)",
                    );
                    None
                }
                None => {
                    item.problem("price_pence", "`price_pence` is missing in this row");
                    None
                }
            };
            let booking = match item.value("booking").map(|v| v.as_str()) {
                Some(Some(b)) => match HowToBook::ALL.iter().find(|(name, _)| *name == b) {
                    Some((_, how)) => Some(*how),
                    None => {
                        item.problem(
                            "booking",
                            "`booking` is `online`, `phone` or `online_or_phone`",
                        );
                        None
                    }
                },
                _ => {
                    item.problem(
                        "booking",
                        "`booking` (`online`, `phone` or `online_or_phone`) is missing in this row",
                    );
                    None
                }
            };
            let specialty = match item.optional_text("specialty") {
                Some(text) => match Slug::parse_exact(&text) {
                    Ok(slug) => Some(slug),
                    Err(_) => {
                        item.problem("specialty", format!("`specialty` {text:?} is not a slug"));
                        None
                    }
                },
                None => None,
            };
            let notes = item.optional_text("notes");
            if let Some(slug) = &specialty {
                refs.push(ConditionRef {
                    line: item.field_line("specialty"),
                    field: "specialty",
                    slug: slug.clone(),
                });
            }
            let price_pence = price?;
            Some(PriceRow {
                procedure: procedure?,
                price: price_pence.display(),
                price_pence,
                booking: booking?,
                specialty,
                notes,
            })
        },
    );
    let mut seen: Vec<&str> = Vec::new();
    let mut duplicates = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        if seen.contains(&row.procedure.as_str()) {
            duplicates.push((fields.layout().item("rows", index), row.procedure.clone()));
        }
        seen.push(&row.procedure);
    }
    for (line, procedure) in duplicates {
        fields.problem(line, format!("the procedure {procedure:?} has two rows"));
    }
    let body_problems = no_body(body, body_line, "the price list is its `rows`");
    finish(fields, body_problems, 1, refs, || {
        Some(PriceList {
            currency: Default::default(),
            rows,
        })
    })
}

const SITE_FIELDS: &[&str] = &[
    "name",
    "hospital",
    "phone",
    "urgent",
    "email",
    "address",
    "appointment_summary",
    "appointment_minutes",
    "appointment_names_consultant",
];

/// The site's contact details: `site.md`, the body a short text about the clinic.
pub(crate) fn site(text: &str) -> Result<Read<Site>, LineError> {
    let (mut fields, body, body_line) = open(text, SITE_FIELDS)?;
    let name = fields.text("name");
    let hospital = fields.text("hospital");
    let phone = fields.text("phone");
    let urgent = fields.text("urgent");
    let phone_e164 = match phone.as_deref().map(UkPhone::parse) {
        Some(Ok(number)) => Some(number.as_str().to_owned()),
        Some(Err(_)) => {
            let line = fields.layout().key("phone");
            fields.problem(line, "`phone` is not a UK phone number like 020 8247 3351");
            None
        }
        None => None,
    };
    let email = fields.optional_text("email");
    if let Some(address) = &email {
        if crate::booking::Email::parse(address).is_err() {
            let line = fields.layout().key("email");
            fields.problem(line, format!("`email` {address:?} is not an email address"));
        }
    }
    let address = fields.texts("address");
    let appointment_summary = fields.optional_text("appointment_summary");
    let range = Site::APPOINTMENT_MINUTES_RANGE;
    let appointment_minutes = match fields.optional_text("appointment_minutes") {
        None => None,
        Some(raw) => match raw.parse::<u16>() {
            Ok(minutes) if range.contains(&minutes) => Some(minutes),
            _ => {
                let line = fields.layout().key("appointment_minutes");
                fields.problem(
                    line,
                    format!(
                        "`appointment_minutes` must be a whole number of minutes from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        },
    };
    let appointment_names_consultant = match fields
        .optional_text("appointment_names_consultant")
        .as_deref()
    {
        None | Some("no") => false,
        Some("yes") => true,
        Some(_) => {
            let line = fields.layout().key("appointment_names_consultant");
            fields.problem(line, "`appointment_names_consultant` must be yes or no");
            false
        }
    };
    let body_problems = markdown::problems(body, body_line);
    finish(fields, body_problems, 1, Vec::new(), || {
        Some(Site {
            name: name?,
            hospital: hospital?,
            phone: phone?,
            phone_e164: phone_e164?,
            urgent: Some(urgent?),
            email,
            address,
            about: (!body.trim().is_empty()).then(|| markdown::rich_text(body)),
            appointment_summary,
            appointment_minutes,
            appointment_names_consultant,
        })
    })
}

/// Text after the front matter where a file has none to show.
fn no_body(body: &str, body_line: usize, what: &str) -> Vec<LineError> {
    if body.trim().is_empty() {
        return Vec::new();
    }
    let lead = body.len() - body.trim_start().len();
    let line = body_line + body[..lead].matches('\n').count();
    vec![(
        line,
        format!("{what}: text after the front matter is not shown"),
    )]
}

const CONSENT_FIELDS: &[&str] = &[
    "version",
    "introduced",
    "contact",
    "marketing_email",
    "marketing_sms",
];

/// One version of the consent wording: `consent/<name>.md`, its labels in
/// the front matter, exactly as the form shows them.
pub(crate) fn consent(text: &str) -> Result<Read<ConsentWording>, LineError> {
    let (mut fields, body, body_line) = open(text, CONSENT_FIELDS)?;
    let slug_line = fields.layout().key("version");
    let mut version = fields.slug("version");
    if let Some(slug) = &version {
        // The form sends it as `consent_version`, which has its own bound.
        if crate::booking::ConsentVersion::parse(slug.as_str()).is_err() {
            fields.problem(
                slug_line,
                format!(
                    "`version` is longer than the form's {} characters",
                    crate::booking::ConsentVersion::MAX_CHARS
                ),
            );
            version = None;
        }
    }
    let introduced = date(&mut fields, "introduced");
    let contact = fields.text("contact");
    let marketing_email = fields.text("marketing_email");
    let marketing_sms = fields.text("marketing_sms");
    let body_problems = no_body(body, body_line, "the wording is its front matter");
    finish(fields, body_problems, slug_line, Vec::new(), || {
        let (contact, marketing_email, marketing_sms) =
            (contact?, marketing_email?, marketing_sms?);
        Some(ConsentWording {
            version: version?,
            introduced: introduced?,
            sha256: ConsentWording::hash_of(&contact, &marketing_email, &marketing_sms),
            contact,
            marketing_email,
            marketing_sms,
            published_at: None,
        })
    })
}

/// The privacy notice: `privacy.md`, its body in `##` sections.
pub(crate) fn privacy(text: &str) -> Result<Read<PrivacyNotice>, LineError> {
    let (mut fields, body, body_line) = open(text, &["updated"])?;
    let updated = date(&mut fields, "updated");
    let (sections, body_problems) = sectioned(body, body_line);
    finish(fields, body_problems, 1, Vec::new(), || {
        Some(PrivacyNotice {
            updated: updated?,
            sections,
        })
    })
}
