//! The booking request as it arrives: JSON from a script, or a urlencoded
//! body from a plain HTML form. Both decode into one map of wire fields,
//! which `BookingRequest::parse` turns into `BookingDetails` or every error.

use super::bookable::{wording_of, AcceptedWording};
use super::choices::PaymentKind;
use super::{
    BookingDetails, BookingFor, ConsentVersion, ContactMethod, DateOfBirth, Email, Insurer,
    Message, Payment, PersonName, PolicyNumber, PreferredTimes, Slug, Specialty, UkPhone,
};
use crate::fields::FieldErrors;
use crate::text::{is_blank, too_long, typed_len};
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use time::Date;

/// The body types the booking endpoint understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`, sent by a script.
    Json,
    /// `application/x-www-form-urlencoded`, sent by a plain HTML form.
    Form,
}

impl MediaType {
    /// Reads a `Content-Type` header value; parameters such as `charset=utf-8` are allowed.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Some(Self::Form)
        } else {
            None
        }
    }
}

/// A body that cannot be read as a booking at all (as opposed to bad fields).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not valid JSON, or not a JSON object.
    #[error("the body is not a JSON object: {0}")]
    Json(String),
    /// Not a valid urlencoded form.
    #[error("the form body is malformed: {0}")]
    Form(String),
    /// A field was sent twice, so which value was meant is unknown.
    #[error("the field `{0}` is given more than once")]
    DuplicateField(String),
    /// The body broke off or could not be received whole.
    #[error("the body could not be read: {0}")]
    Unreadable(String),
}

/// One field's raw value: text, or a JSON boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    Text(String),
    Bool(bool),
    /// A JSON number, array or object where text or a boolean was expected.
    Other,
}

/// Every field the booking form may send.
pub const FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "date_of_birth_day",
    "date_of_birth_month",
    "date_of_birth_year",
    "specialty",
    "consultant",
    "payment",
    "insurer",
    "policy_number",
    "gp_referral",
    "contact_method",
    "preferred_times",
    "message",
    "booking_for",
    "consent_contact",
    "consent_version",
    "marketing_email",
    "marketing_sms",
    "website",
    "idempotency_key",
    crate::turnstile::TOKEN_FIELD,
];

/// How a checkbox or script says yes: a form's checkbox sends `on`.
pub const YES: [&str; 4] = ["on", "true", "1", "yes"];

/// How a form or script says no (as does leaving the field out).
pub const NO: [&str; 4] = ["off", "false", "0", "no"];

/// The fields whose value must be text (the others may also be a JSON boolean).
pub const TEXT_ONLY: &[&str] = &["idempotency_key", "website", crate::turnstile::TOKEN_FIELD];

/// The bound of a field, in characters as typed ([`typed_len`]): it holds
/// for a blank value too, so that it means what a schema's `maxLength`
/// means (a value within `maxLength` is within it).
pub fn max_chars(name: &str) -> Option<usize> {
    Some(match name {
        "first_name" | "last_name" => PersonName::MAX_CHARS,
        "email" => Email::MAX_CHARS,
        "phone" => UkPhone::MAX_CHARS,
        "consultant" => Slug::MAX_CHARS,
        "insurer" => Insurer::MAX_CHARS,
        "policy_number" => PolicyNumber::MAX_CHARS,
        "preferred_times" => PreferredTimes::MAX_CHARS,
        "message" => Message::MAX_CHARS,
        "consent_version" => ConsentVersion::MAX_CHARS,
        "idempotency_key" => IdempotencyKey::MAX_CHARS,
        crate::turnstile::TOKEN_FIELD => crate::turnstile::TOKEN_MAX_CHARS,
        name => {
            super::date_parts::PARTS
                .iter()
                .find(|p| p.name == name)?
                .max_chars
        }
    })
}

/// What parsing needs to know beyond the request itself.
#[derive(Debug, Clone)]
pub struct ParseContext<'a> {
    /// The condition slugs a patient may choose as specialty.
    pub specialties: &'a [Slug],
    /// Today's date, for the date of birth.
    pub today: Date,
    /// The consent wordings a booking may name now (`Bookable::wordings_at`).
    pub wordings: &'a [AcceptedWording],
}

/// A decoded but unchecked booking request: wire field names to raw values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingRequest {
    fields: BTreeMap<String, Raw>,
}

impl BookingRequest {
    /// Decodes a body of the given media type.
    pub fn decode(media: MediaType, body: &[u8]) -> Result<Self, DecodeError> {
        match media {
            MediaType::Json => Self::from_json(body),
            MediaType::Form => Self::from_form(body),
        }
    }

    /// Decodes a JSON object; `null` counts as absent, and so (when parsed)
    /// does a blank string.
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let fields = de
            .deserialize_map(UniqueKeys)
            .map_err(|e| match e.to_string() {
                m if m.starts_with(DUPLICATE) => DecodeError::DuplicateField(
                    m[DUPLICATE.len()..]
                        .split(' ')
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                ),
                m => DecodeError::Json(m),
            })?;
        de.end().map_err(|e| DecodeError::Json(e.to_string()))?;
        Ok(Self { fields })
    }

    /// Decodes `application/x-www-form-urlencoded`; blank values count as
    /// absent when parsed.
    pub fn from_form(body: &[u8]) -> Result<Self, DecodeError> {
        let mut fields = BTreeMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let name = form_decode(parts.next().unwrap_or_default())?;
            let value = form_decode(parts.next().unwrap_or_default())?;
            if fields.contains_key(&name) {
                return Err(DecodeError::DuplicateField(name));
            }
            fields.insert(name, Raw::Text(value));
        }
        Ok(Self { fields })
    }

    /// Whether the hidden honeypot field was filled, which only bots do.
    pub fn honeypot_filled(&self) -> bool {
        matches!(self.fields.get("website"), Some(Raw::Text(t)) if !is_blank(t))
    }

    /// The idempotency key sent as a hidden field, if any.
    pub fn idempotency_field(&self) -> Option<&str> {
        match self.fields.get("idempotency_key") {
            Some(Raw::Text(t)) if !is_blank(t) => Some(t.as_str()),
            _ => None,
        }
    }

    /// The human check's token (Cloudflare Turnstile's), if any.
    pub fn human_check_token(&self) -> Option<&str> {
        match self.fields.get(crate::turnstile::TOKEN_FIELD) {
            Some(Raw::Text(t)) if !is_blank(t) => Some(t.as_str()),
            _ => None,
        }
    }

    /// Checks every field and builds the booking's details, or returns every problem found.
    pub fn parse(&self, ctx: &ParseContext<'_>) -> Result<BookingDetails, FieldErrors> {
        let mut errors = FieldErrors::new();
        for name in self.fields.keys() {
            if !FIELDS.contains(&name.as_str()) {
                errors.add(name, "This field is not part of the booking form.");
            }
        }
        for (name, raw) in &self.fields {
            match (raw, max_chars(name)) {
                (Raw::Text(text), Some(max)) => {
                    let length = typed_len(text);
                    if length > max {
                        errors.add(name, too_long(max, length));
                    }
                }
                (Raw::Bool(_) | Raw::Other, _) if TEXT_ONLY.contains(&name.as_str()) => {
                    errors.add(name, "Expected text.");
                }
                _ => {}
            }
        }

        let first_name = self.required(&mut errors, "first_name", PersonName::parse);
        let last_name = self.required(&mut errors, "last_name", PersonName::parse);
        let email = self.required(&mut errors, "email", Email::parse);
        let phone = self.required(&mut errors, "phone", UkPhone::parse);
        let date_of_birth = self.date_of_birth(&mut errors, ctx.today);
        let specialty = self.required(&mut errors, "specialty", |s| {
            Specialty::parse(s, ctx.specialties)
        });
        let consultant = self.optional(&mut errors, "consultant", |s| {
            Slug::parse_exact(s).map_err(|_| "Please choose a consultant from the list.".to_owned())
        });
        // The insurer and policy number are checked whenever given, and
        // required when insured; self-pay keeps neither.
        let insurer = self.optional(&mut errors, "insurer", Insurer::parse);
        let policy_number = self.optional(&mut errors, "policy_number", PolicyNumber::parse);
        let payment = match self.required(&mut errors, "payment", PaymentKind::parse) {
            Some(PaymentKind::SelfPay) => Some(Payment::SelfPay),
            Some(PaymentKind::Insured) => {
                if insurer.is_none() && !errors.has("insurer") {
                    errors.add("insurer", "Please tell us your insurer.");
                }
                if policy_number.is_none() && !errors.has("policy_number") {
                    errors.add(
                        "policy_number",
                        "Please give your policy or membership number.",
                    );
                }
                insurer
                    .zip(policy_number)
                    .map(|(insurer, policy_number)| Payment::Insured {
                        insurer,
                        policy_number,
                    })
            }
            None => None,
        };
        let gp_referral = self.flag(&mut errors, "gp_referral");
        let contact_method = self.required(&mut errors, "contact_method", ContactMethod::parse);
        let preferred_times = self.optional(&mut errors, "preferred_times", PreferredTimes::parse);
        let message = self.optional(&mut errors, "message", Message::parse);
        let booking_for = self.required(&mut errors, "booking_for", BookingFor::parse);
        if !self.flag(&mut errors, "consent_contact") && !errors.has("consent_contact") {
            errors.add(
                "consent_contact",
                "Please confirm that the clinic may contact you about this request.",
            );
        }
        let consent_version = self.required(&mut errors, "consent_version", |raw| {
            let version = ConsentVersion::parse(raw)?;
            let wording = wording_of(&version, ctx.wordings)?;
            Ok((version, wording))
        });
        let marketing_email = self.flag(&mut errors, "marketing_email");
        let marketing_sms = self.flag(&mut errors, "marketing_sms");

        match (
            first_name,
            last_name,
            email,
            phone,
            date_of_birth,
            specialty,
            payment,
            contact_method,
            booking_for,
            consent_version,
        ) {
            (
                Some(first_name),
                Some(last_name),
                Some(email),
                Some(phone),
                Some(date_of_birth),
                Some(specialty),
                Some(payment),
                Some(contact_method),
                Some(booking_for),
                Some((consent_version, consent_wording)),
            ) if errors.is_empty() => Ok(BookingDetails {
                first_name,
                last_name,
                email,
                phone,
                date_of_birth,
                specialty,
                consultant,
                payment,
                gp_referral,
                contact_method,
                preferred_times,
                message,
                booking_for,
                consent_version,
                consent_wording: Some(consent_wording),
                marketing_email,
                marketing_sms,
            }),
            _ => Err(errors),
        }
    }

    /// The date of birth: the one ISO date, or its three parts (day, month
    /// and year, as a form's date input sends them), but not both.
    fn date_of_birth(&self, errors: &mut FieldErrors, today: Date) -> Option<DateOfBirth> {
        use super::date_parts::{self, PARTS};
        let given = |name| !matches!(self.text(name), Ok(None));
        if !PARTS.iter().any(|part| given(part.name)) {
            return self.required(errors, "date_of_birth", |s| DateOfBirth::parse(s, today));
        }
        if !matches!(self.text("date_of_birth"), Ok(None)) {
            errors.add(
                "date_of_birth",
                "Please give the date of birth once: as one date, or as its day, month and year.",
            );
            return None;
        }
        let mut parts = [None; 3];
        for (slot, part) in parts.iter_mut().zip(PARTS) {
            match self.text(part.name) {
                Ok(text) => *slot = text,
                Err(e) => errors.add(part.name, e),
            }
        }
        if PARTS.iter().any(|part| errors.has(part.name)) {
            return None;
        }
        match date_parts::join(parts, today) {
            Ok(date) => Some(date),
            Err(found) => {
                for (field, message) in found {
                    if !errors.has(field) {
                        errors.add(field, message);
                    }
                }
                None
            }
        }
    }

    /// The text of a field: absent or blank is `None`, a non-text value is an error.
    fn text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(Raw::Text(t)) if is_blank(t) => Ok(None),
            Some(Raw::Text(t)) => Ok(Some(t.as_str())),
            Some(Raw::Bool(_) | Raw::Other) => Err("Expected text.".into()),
        }
    }

    fn required<T>(
        &self,
        errors: &mut FieldErrors,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.required_as(errors, name, parse, "Please fill this in.")
    }

    fn required_as<T>(
        &self,
        errors: &mut FieldErrors,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
        missing: &str,
    ) -> Option<T> {
        match self.text(name) {
            Ok(Some(text)) => errors.check(name, parse(text)),
            Ok(None) => {
                errors.add(name, missing);
                None
            }
            Err(e) => {
                errors.add(name, e);
                None
            }
        }
    }

    fn optional<T>(
        &self,
        errors: &mut FieldErrors,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.text(name) {
            Ok(Some(text)) => errors.check(name, parse(text)),
            Ok(None) => None,
            Err(e) => {
                errors.add(name, e);
                None
            }
        }
    }

    /// A checkbox or boolean: absent or blank is false; otherwise exactly
    /// one of [`YES`] or [`NO`].
    fn flag(&self, errors: &mut FieldErrors, name: &str) -> bool {
        match self.fields.get(name) {
            None => false,
            Some(Raw::Bool(b)) => *b,
            Some(Raw::Text(t)) if is_blank(t) => false,
            Some(Raw::Text(t)) if YES.contains(&t.as_str()) => true,
            Some(Raw::Text(t)) if NO.contains(&t.as_str()) => false,
            Some(Raw::Text(_)) => {
                errors.add(name, "Expected a yes or no answer.");
                false
            }
            Some(Raw::Other) => {
                errors.add(name, "Expected a yes or no answer.");
                false
            }
        }
    }
}

/// An idempotency key: 1 to 128 visible ASCII characters but `{` and `}`
/// (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key, in characters.
    pub const MAX_CHARS: usize = 128;

    /// What a key is (its `maxLength` is [`IdempotencyKey::MAX_CHARS`]):
    /// visible ASCII but the braces of a template's placeholder.
    pub const PATTERN: &'static str = "^[!-z|~]+$";

    /// Parses a key from the `Idempotency-Key` header or the hidden field,
    /// exactly as sent. A template's placeholder left unfilled
    /// (`{{idempotency_key}}`) is refused, braces and all: every patient of
    /// that page would share it, and with it each other's booking.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let key = raw;
        if key.contains(['{', '}']) {
            return Err(
                "The page did not fill in its key: please reload it and send the form again."
                    .into(),
            );
        }
        if !key.is_empty()
            && key.len() <= Self::MAX_CHARS
            && key.bytes().all(|b| b.is_ascii_graphic())
        {
            Ok(Self(key.to_owned()))
        } else {
            Err(
                "The idempotency key must be 1 to 128 visible ASCII characters, without braces."
                    .into(),
            )
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's [`MatchKey`](crate::match_key::MatchKey) tag: what stores
    /// keep instead of the key (a site might use something personal as one).
    pub fn tag(&self, key: &crate::match_key::MatchKey) -> String {
        key.tag(crate::match_key::Purpose::IdempotencyKey, self.0.as_bytes())
    }
}

const DUPLICATE: &str = "duplicate field ";

/// Reads the top-level JSON object, refusing duplicate keys (which a
/// `serde_json::Map` would silently resolve to the last one).
struct UniqueKeys;

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = BTreeMap<String, Raw>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: serde_json::Value = map.next_value()?;
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            let raw = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => Raw::Text(s),
                serde_json::Value::Bool(b) => Raw::Bool(b),
                _ => Raw::Other,
            };
            fields.insert(key, raw);
        }
        Ok(fields)
    }
}

/// Decodes one urlencoded name or value: `+` is a space, and the
/// percent-decoded bytes must be UTF-8.
fn form_decode(raw: &[u8]) -> Result<String, DecodeError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| DecodeError::Form("a value is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn ctx() -> (Vec<Slug>, Date) {
        (
            vec![Slug::parse("neuroendocrine-tumours").unwrap()],
            date!(2026 - 11 - 24),
        )
    }

    const VALID_FORM: &str = "first_name=Ann&last_name=Smith&email=ann%40example.com&phone=07700+900123\
        &date_of_birth=1970-03-31&specialty=neuroendocrine-tumours&payment=self_pay&contact_method=phone\
        &booking_for=self&consent_contact=on&consent_version=2026-01&website=";

    #[test]
    fn a_valid_form_parses() {
        let (specialties, today) = ctx();
        let ctx = ParseContext {
            specialties: &specialties,
            today,
            wordings: &crate::booking::fixture::wordings(),
        };
        let details = BookingRequest::from_form(VALID_FORM.as_bytes())
            .unwrap()
            .parse(&ctx)
            .unwrap();
        assert_eq!(details.phone.as_str(), "+447700900123");
        assert!(!details.marketing_email && !details.gp_referral);
        assert_eq!(details.payment, Payment::SelfPay);
    }

    #[test]
    fn a_form_may_send_the_date_of_birth_as_day_month_and_year() {
        let (specialties, today) = ctx();
        let ctx = ParseContext {
            specialties: &specialties,
            today,
            wordings: &crate::booking::fixture::wordings(),
        };
        let form = |dob: &str| {
            let body = VALID_FORM.replace("date_of_birth=1970-03-31", dob);
            BookingRequest::from_form(body.as_bytes())
                .unwrap()
                .parse(&ctx)
        };
        let details =
            form("date_of_birth_day=31&date_of_birth_month=3&date_of_birth_year=1970").unwrap();
        assert_eq!(details.date_of_birth.date(), date!(1970 - 03 - 31));
        // The ISO field left blank, as a page with both would send it.
        let blank_iso =
            "date_of_birth=&date_of_birth_day=31&date_of_birth_month=03&date_of_birth_year=1970";
        assert!(form(blank_iso).is_ok());

        let errors = |dob: &str| -> Vec<String> {
            form(dob)
                .unwrap_err()
                .into_vec()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            errors("date_of_birth_day=31&date_of_birth_month=14&date_of_birth_year=1970"),
            ["date_of_birth_month"]
        );
        assert_eq!(
            errors("date_of_birth_day=&date_of_birth_month=3&date_of_birth_year="),
            ["date_of_birth_day", "date_of_birth_year"]
        );
        assert_eq!(
            errors("date_of_birth_day=30&date_of_birth_month=2&date_of_birth_year=1970"),
            ["date_of_birth"]
        );
        assert_eq!(
            errors("date_of_birth=1970-03-31&date_of_birth_day=31"),
            ["date_of_birth"]
        );
        assert_eq!(
            errors("date_of_birth_day=&date_of_birth_month=&date_of_birth_year="),
            ["date_of_birth"],
            "nothing given is the date missing"
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let (specialties, today) = ctx();
        let ctx = ParseContext {
            specialties: &specialties,
            today,
            wordings: &crate::booking::fixture::wordings(),
        };
        let body = br#"{"first_name": "", "email": "nope", "payment": "insured", "gp_referral": 3, "extra": "x"}"#;
        let errors = BookingRequest::from_json(body)
            .unwrap()
            .parse(&ctx)
            .unwrap_err();
        for field in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "specialty",
            "insurer",
            "policy_number",
            "gp_referral",
            "contact_method",
            "booking_for",
            "consent_contact",
            "consent_version",
            "extra",
        ] {
            assert!(errors.has(field), "{field} missing from {errors:?}");
        }
    }

    /// The valid form with `field` set to `value` (or removed when `None`), as JSON.
    fn json_with(field: &str, value: Option<serde_json::Value>) -> BookingRequest {
        let form = BookingRequest::from_form(VALID_FORM.as_bytes()).unwrap();
        let mut body: serde_json::Map<String, serde_json::Value> = form
            .fields
            .iter()
            .map(|(k, v)| match v {
                Raw::Text(t) => (k.clone(), serde_json::Value::from(t.as_str())),
                _ => unreachable!("a form sends text"),
            })
            .collect();
        match value {
            Some(value) => body.insert(field.to_owned(), value),
            None => body.remove(field),
        };
        BookingRequest::from_json(serde_json::Value::Object(body).to_string().as_bytes()).unwrap()
    }

    fn parsed(request: &BookingRequest) -> Result<BookingDetails, FieldErrors> {
        let (specialties, today) = ctx();
        request.parse(&ParseContext {
            specialties: &specialties,
            today,
            wordings: &crate::booking::fixture::wordings(),
        })
    }

    #[test]
    fn a_blank_answer_is_no_answer() {
        let form = format!("{VALID_FORM}&consultant=+++&preferred_times=%09&message=+%0D%0A+");
        let details = parsed(&BookingRequest::from_form(form.as_bytes()).unwrap()).unwrap();
        assert_eq!(details.consultant, None);
        assert_eq!(details.preferred_times, None);
        assert_eq!(details.message, None);
        let blank_name = VALID_FORM.replace("first_name=Ann", "first_name=++");
        let errors =
            parsed(&BookingRequest::from_form(blank_name.as_bytes()).unwrap()).unwrap_err();
        assert!(errors.has("first_name"), "{errors:?}");
    }

    #[test]
    fn every_bound_holds_for_a_blank_value_too() {
        let bounded = [
            ("first_name", PersonName::MAX_CHARS),
            ("last_name", PersonName::MAX_CHARS),
            ("email", Email::MAX_CHARS),
            ("phone", UkPhone::MAX_CHARS),
            ("consultant", Slug::MAX_CHARS),
            ("insurer", Insurer::MAX_CHARS),
            ("policy_number", PolicyNumber::MAX_CHARS),
            ("preferred_times", PreferredTimes::MAX_CHARS),
            ("message", Message::MAX_CHARS),
            ("consent_version", ConsentVersion::MAX_CHARS),
            ("idempotency_key", IdempotencyKey::MAX_CHARS),
            (
                crate::turnstile::TOKEN_FIELD,
                crate::turnstile::TOKEN_MAX_CHARS,
            ),
            ("date_of_birth_day", 2),
            ("date_of_birth_month", 2),
            ("date_of_birth_year", 4),
        ];
        for field in FIELDS
            .iter()
            .filter(|f| !bounded.iter().any(|(b, _)| b == *f))
        {
            assert_eq!(max_chars(field), None, "{field} is a choice, not free text");
        }
        for (field, max) in bounded {
            assert_eq!(max_chars(field), Some(max), "{field}");
            let over = json_with(field, Some(" ".repeat(max + 1).into()));
            let errors = parsed(&over).unwrap_err();
            assert!(
                errors.has(field) && format!("{errors:?}").contains(&format!("{max} characters")),
                "{field}: {errors:?}"
            );
            let within = parsed(&json_with(field, Some(" ".repeat(max).into())));
            let too_long = |e: &FieldErrors| format!("{e:?}").contains("characters or fewer");
            assert!(
                within.as_ref().map_or_else(|e| !too_long(e), |_| true),
                "{field}: {within:?}"
            );
        }
    }

    #[test]
    fn a_bound_counts_a_crlf_once() {
        let max = Message::MAX_CHARS;
        let typed = format!("{}{}", "a".repeat(max - 2), "\r\n".repeat(2));
        let details = parsed(&json_with("message", Some(typed.into()))).unwrap();
        assert_eq!(details.message.unwrap().as_str().chars().count(), max - 2);
    }

    #[test]
    fn only_text_is_taken_where_a_field_is_text_only() {
        for field in TEXT_ONLY {
            for value in [serde_json::json!(true), serde_json::json!(1)] {
                let errors = parsed(&json_with(field, Some(value))).unwrap_err();
                assert!(errors.has(field), "{field}: {errors:?}");
            }
        }
        let flag = parsed(&json_with("gp_referral", Some(true.into()))).unwrap();
        assert!(flag.gp_referral);
        let left_out = parsed(&json_with("website", Some(serde_json::Value::Null)));
        assert!(left_out.is_ok(), "{left_out:?}");
    }

    #[test]
    fn a_flag_is_exactly_yes_or_no_and_blank_is_no() {
        for (raw, want) in YES
            .iter()
            .map(|y| (*y, Some(true)))
            .chain(NO.iter().chain(&["", "  "]).map(|n| (*n, Some(false))))
            .chain([("ON", None), ("maybe", None), (" on", None)])
        {
            let answer = parsed(&json_with("marketing_email", Some(raw.into())));
            match want {
                Some(want) => assert_eq!(answer.unwrap().marketing_email, want, "{raw:?}"),
                None => assert!(answer.unwrap_err().has("marketing_email"), "{raw:?}"),
            }
        }
        let consent = parsed(&json_with("consent_contact", Some("off".into())));
        assert!(consent.unwrap_err().has("consent_contact"));
    }

    #[test]
    fn the_honeypot_the_key_field_and_not_sure_are_read_from_the_fields() {
        let plain = json_with("website", None);
        assert!(!plain.honeypot_filled());
        assert!(!json_with("website", Some(" ".into())).honeypot_filled());
        assert!(json_with("website", Some("http://spam".into())).honeypot_filled());
        assert!(!json_with("website", Some(true.into())).honeypot_filled());

        assert_eq!(plain.idempotency_field(), None);
        assert_eq!(
            json_with("idempotency_key", Some("  ".into())).idempotency_field(),
            None
        );
        assert_eq!(
            json_with("idempotency_key", Some("key-1".into())).idempotency_field(),
            Some("key-1")
        );

        assert_eq!(
            BookingRequest::decode(MediaType::Form, VALID_FORM.as_bytes()),
            BookingRequest::from_form(VALID_FORM.as_bytes())
        );
        assert_eq!(
            BookingRequest::decode(MediaType::Json, b"{\"a\": \"b\"}"),
            BookingRequest::from_json(b"{\"a\": \"b\"}")
        );
    }

    #[test]
    fn optional_fields_are_kept_when_given() {
        let details = parsed(&json_with("preferred_times", Some("Mornings".into()))).unwrap();
        assert_eq!(details.preferred_times.unwrap().as_str(), "Mornings");
        let insured = {
            let mut r = json_with("payment", Some("insured".into()));
            r.fields
                .insert("insurer".into(), Raw::Text("Fixture Health".into()));
            r.fields
                .insert("policy_number".into(), Raw::Text("FX-1".into()));
            parsed(&r).unwrap()
        };
        assert_eq!(insured.payment.kind(), "insured");
        // Given with self-pay, an insurer is checked all the same.
        let mut r = json_with("payment", Some("self_pay".into()));
        r.fields
            .insert("insurer".into(), Raw::Text("Bad\tName".into()));
        assert!(parsed(&r).unwrap_err().has("insurer"));
    }

    #[test]
    fn a_json_field_sent_twice_is_named_and_other_json_errors_are_not() {
        assert_eq!(
            BookingRequest::from_json(br#"{"phone": "1", "phone": "2"}"#),
            Err(DecodeError::DuplicateField("phone".into()))
        );
        assert!(matches!(
            BookingRequest::from_json(br#"{"phone": }"#),
            Err(DecodeError::Json(_))
        ));
        let key = IdempotencyKey::parse("key-1").unwrap();
        assert_eq!(key.as_str(), "key-1");
    }

    #[test]
    fn duplicates_and_bad_encodings_are_malformed() {
        assert_eq!(
            BookingRequest::from_json(br#"{"email": "a", "email": "b"}"#),
            Err(DecodeError::DuplicateField("email".into()))
        );
        assert_eq!(
            BookingRequest::from_form(b"email=a&email=b"),
            Err(DecodeError::DuplicateField("email".into()))
        );
        assert!(BookingRequest::from_form(b"first_name=%FF").is_err());
        match BookingRequest::from_json(b"[1]") {
            Err(DecodeError::Json(message)) => assert!(
                message.contains("expected a JSON object"),
                "the answer says what was expected: {message}"
            ),
            other => panic!("an array is not a booking: {other:?}"),
        }
        assert!(BookingRequest::from_json(b"{} {}").is_err());
        assert!(BookingRequest::from_json(b"").is_err());
    }

    #[test]
    fn idempotency_keys_are_kept_as_tags() {
        let match_key = crate::match_key::MatchKey::new(1, &"k".repeat(32)).unwrap();
        let key = IdempotencyKey::parse("fixture.patient@example.com").unwrap();
        let tag = key.tag(&match_key);
        assert!(tag.starts_with("v1."));
        assert!(!tag.contains("example"));
        assert!(IdempotencyKey::parse(" fixture.patient@example.com ").is_err());
        for unfilled in ["{{idempotency_key}}", "{", "key}"] {
            assert!(
                IdempotencyKey::parse(unfilled)
                    .unwrap_err()
                    .contains("reload"),
                "{unfilled}"
            );
        }
        assert_ne!(
            tag,
            IdempotencyKey::parse("another-key")
                .unwrap()
                .tag(&match_key)
        );
    }

    #[test]
    fn media_types_allow_parameters() {
        assert_eq!(
            MediaType::from_content_type("application/json; charset=utf-8"),
            Some(MediaType::Json)
        );
        assert_eq!(
            MediaType::from_content_type("Application/X-WWW-Form-Urlencoded"),
            Some(MediaType::Form)
        );
        assert_eq!(MediaType::from_content_type("text/plain"), None);
    }
}
