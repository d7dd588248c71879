//! The booking request's schemas, one per media type, built from the rules
//! the parser checks: each field's bound and pattern are the constants of
//! the type that parses it, so the document cannot drift from the code.
//!
//! What both media types share: a value of only [`TRIMMED`] characters
//! counts as not given, a bound counts characters as typed (a CRLF is one,
//! [`typed_len`]), and a field not listed is refused. What differs: JSON may send `null` (not given) and
//! booleans; a form sends text only.
//!
//! [`TRIMMED`]: crate::text::TRIMMED
//! [`typed_len`]: crate::text::typed_len

use super::Published;
use crate::booking::choices::PaymentKind;
use crate::booking::date_parts::{DatePart, PARTS};
use crate::booking::request::{NO, YES};
use crate::booking::{
    BookingFor, ConsentVersion, ContactMethod, DateOfBirth, Email, IdempotencyKey, Insurer,
    Message, PersonName, PolicyNumber, PreferredTimes, Slug, Specialty, UkPhone,
};
use serde_json::{json, Value};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;

/// Which body the schema is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `application/json`, from a script.
    Json,
    /// `application/x-www-form-urlencoded`, from a plain HTML form.
    Form,
}

/// What one field may be.
enum Rule {
    /// Text matching a pattern, at most so many characters as typed.
    Text {
        pattern: &'static str,
        max_chars: Option<usize>,
        format: Option<KnownFormat>,
    },
    /// Exactly one of these values.
    Choice(Vec<String>),
    /// A yes or no answer.
    Flag,
    /// Must be yes.
    Yes,
    /// Any text, at most so many characters when bounded (the honeypot,
    /// the human check's token).
    AnyText { max_chars: Option<usize> },
}

/// One field of the booking form.
struct Field {
    name: &'static str,
    required: bool,
    rule: Rule,
    description: String,
}

/// Every field the parser knows, in the form's order ([`FIELDS`] is the
/// parser's list; a test holds the two to each other).
///
/// [`FIELDS`]: crate::booking::request::FIELDS
fn fields(published: &Published) -> Vec<Field> {
    let specialties = &published.specialties;
    let text = |pattern, max_chars| Rule::Text {
        pattern,
        max_chars: Some(max_chars),
        format: None,
    };
    let flag = |name, description: &str| {
        Field {
        name,
        required: false,
        rule: Rule::Flag,
        description: format!(
            "{description} Yes is `true` or, as a checkbox sends it, {}; no is `false`, {}, or leaving it out.",
            quoted(&YES),
            quoted(&NO)
        ),
    }
    };
    let name_rule = format!(
        "Letters of any script, spaces, hyphens, apostrophes, full stops and commas; at most {} characters.",
        PersonName::MAX_CHARS
    );
    let mut specialty_values: Vec<String> =
        specialties.iter().map(|s| s.as_str().to_owned()).collect();
    specialty_values.push(Specialty::NOT_SURE.to_owned());
    vec![
        Field {
            name: "first_name",
            required: true,
            rule: text(PersonName::PATTERN, PersonName::MAX_CHARS),
            description: name_rule.clone(),
        },
        Field {
            name: "last_name",
            required: true,
            rule: text(PersonName::PATTERN, PersonName::MAX_CHARS),
            description: name_rule,
        },
        Field {
            name: "email",
            required: true,
            rule: Rule::Text {
                pattern: Email::PATTERN,
                max_chars: Some(Email::MAX_CHARS),
                format: Some(KnownFormat::Email),
            },
            description: "An address the clinic can reply to, with a dot in its domain.".into(),
        },
        Field {
            name: "phone",
            required: true,
            rule: text(UkPhone::PATTERN, UkPhone::MAX_CHARS),
            description: "A UK number, national (`07700 900123`) or international (`+44 7700 900123`), with spaces, brackets, dots or dashes as people write them.".into(),
        },
        Field {
            name: "date_of_birth",
            required: false,
            rule: Rule::Text {
                pattern: DateOfBirth::PATTERN,
                max_chars: None,
                format: Some(KnownFormat::Date),
            },
            description: format!(
                "`YYYY-MM-DD`, not in the future and at most {} years ago. JSON Schema cannot say this (it changes with the date), so it is said here; a date outside it is a 422 naming the field. Required, unless the date is given as its three parts (`date_of_birth_day`, `date_of_birth_month`, `date_of_birth_year`, as a form's date input sends it), and never with them.",
                DateOfBirth::MAX_AGE_YEARS
            ),
        },
        date_part(&PARTS[0]),
        date_part(&PARTS[1]),
        date_part(&PARTS[2]),
        Field {
            name: "specialty",
            required: true,
            rule: Rule::Choice(specialty_values),
            description: format!(
                "The condition the appointment is about: a slug from `GET /v1/conditions`, or `{}`. The values listed are the content published when this document was served.",
                Specialty::NOT_SURE
            ),
        },
        Field {
            name: "consultant",
            required: false,
            rule: text(Slug::PATTERN, Slug::MAX_CHARS),
            description: "A consultant's slug from `GET /v1/consultants`, when the patient asks for one.".into(),
        },
        Field {
            name: "payment",
            required: true,
            rule: Rule::Choice(choices(&PaymentKind::ALL)),
            description: "How the appointment will be paid for: `insured` needs `insurer` and `policy_number`.".into(),
        },
        Field {
            name: "insurer",
            required: false,
            rule: text(Insurer::PATTERN, Insurer::MAX_CHARS),
            description: format!(
                "The insurer's name: one line, at most {} characters. Required when `payment` is `insured`; checked whenever given, and not kept for self-pay.",
                Insurer::MAX_CHARS
            ),
        },
        Field {
            name: "policy_number",
            required: false,
            rule: text(PolicyNumber::PATTERN, PolicyNumber::MAX_CHARS),
            description: format!(
                "Letters, digits, spaces, `-`, `/` and `.`; at most {} characters. Required when `payment` is `insured`; checked whenever given, and not kept for self-pay.",
                PolicyNumber::MAX_CHARS
            ),
        },
        flag("gp_referral", "Whether the patient has a referral from their GP."),
        Field {
            name: "contact_method",
            required: true,
            rule: Rule::Choice(choices(&ContactMethod::ALL)),
            description: "How the patient would like the clinic to get in touch.".into(),
        },
        Field {
            name: "preferred_times",
            required: false,
            rule: text(PreferredTimes::PATTERN, PreferredTimes::MAX_CHARS),
            description: format!(
                "When to call, in the patient's words: one line, at most {} characters.",
                PreferredTimes::MAX_CHARS
            ),
        },
        Field {
            name: "message",
            required: false,
            rule: text(Message::PATTERN, Message::MAX_CHARS),
            description: format!(
                "Anything else, in the patient's words: several lines, at most {} characters \
                 as typed, a line break counting as one as a textarea counts it (a form sends \
                 it as CRLF, two characters to `maxLength`, so a value within `maxLength` is \
                 always within the bound).",
                Message::MAX_CHARS
            ),
        },
        Field {
            name: "booking_for",
            required: true,
            rule: Rule::Choice(choices(&BookingFor::ALL)),
            description: "Whether the person filling the form is the patient.".into(),
        },
        Field {
            name: "consent_contact",
            required: true,
            rule: Rule::Yes,
            description: format!(
                "Must be yes: the clinic may contact the patient about this request. `true` or, as a checkbox sends it, {}.",
                quoted(&YES)
            ),
        },
        Field {
            name: "consent_version",
            required: true,
            rule: match &published.consent_version {
                Some(version) => Rule::Choice(vec![version.as_str().to_owned()]),
                None => Rule::Text {
                    pattern: ConsentVersion::PATTERN,
                    max_chars: Some(ConsentVersion::MAX_CHARS),
                    format: None,
                },
            },
            description: format!(
                "The `version` of the consent wording the form showed (`GET /v1/consent`). The wording a new one replaced is still taken for {} hours after the new one is published, so a page opened before is not refused; any other version is refused (422).",
                crate::booking::bookable::CONSENT_GRACE.whole_hours()
            ),
        },
        flag("marketing_email", "Whether the patient would like the clinic's news by email."),
        flag("marketing_sms", "Whether the patient would like the clinic's news by text message."),
        Field {
            name: "website",
            required: false,
            rule: Rule::AnyText { max_chars: None },
            description: "The honeypot: a field hidden from people and left empty. A request that fills it is answered as a success and not stored.".into(),
        },
        Field {
            name: "idempotency_key",
            required: false,
            rule: Rule::Text {
                pattern: IdempotencyKey::PATTERN,
                max_chars: Some(IdempotencyKey::MAX_CHARS),
                format: None,
            },
            description: "The hidden-field twin of the `Idempotency-Key` header, for plain forms. When both are sent they must be the same key (a 422 otherwise): a rule across a header and the body, which JSON Schema cannot state.".into(),
        },
        Field {
            name: crate::turnstile::TOKEN_FIELD,
            required: false,
            rule: Rule::AnyText { max_chars: Some(crate::turnstile::TOKEN_MAX_CHARS) },
            description: "The human check's token, which Cloudflare Turnstile's widget puts in the form when the clinic turns the check on (and is ignored when it is off). A token Cloudflare rejects is a 403; without one, or when Cloudflare cannot answer, the request is taken marked unverified and no acknowledgement is emailed.".into(),
        },
    ]
}

/// One of the date of birth's three parts: checked whenever given, and
/// required together in place of `date_of_birth` (`booking_request`).
fn date_part(part: &DatePart) -> Field {
    Field {
        name: part.name,
        required: false,
        rule: Rule::Text {
            pattern: part.pattern,
            max_chars: Some(part.max_chars),
            format: None,
        },
        description: format!(
            "The {} of the date of birth, in place of `date_of_birth` (with the other two parts): {} The date they make must be real, not in the future and at most {} years ago (a 422 naming `date_of_birth`); a part that is wrong or missing is a 422 naming the part.",
            part.what,
            part.message,
            DateOfBirth::MAX_AGE_YEARS
        ),
    }
}

/// The fields whose rule depends on `payment`: required when insured, and
/// checked whenever given.
const PAYMENT_FIELDS: [&str; 2] = ["insurer", "policy_number"];

/// The names of the fields the schema describes, for the test that holds
/// them to the parser's list.
pub fn field_names() -> Vec<&'static str> {
    fields(&Published::default())
        .iter()
        .map(|f| f.name)
        .collect()
}

/// The wire values of a choice.
fn choices<T>(all: &[(&'static str, T)]) -> Vec<String> {
    all.iter().map(|(name, _)| (*name).to_owned()).collect()
}

/// `` `a`, `b` or `c` ``.
fn quoted(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// A pattern that also takes a blank value, for a field that may be left out.
fn or_blank(pattern: &str) -> String {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let body = body.strip_suffix('$').unwrap_or(body);
    format!("^(?:{}|{body})$", crate::text::blank!())
}

/// The schema of one field for one media type.
fn schema(field: &Field, body: Body) -> Schema {
    // Text for a form; for JSON also `null` when the field may be left out.
    let text_type = || -> SchemaType {
        match (body, field.required) {
            (Body::Json, false) => SchemaType::from_iter([Type::String, Type::Null]),
            _ => SchemaType::new(Type::String),
        }
    };
    let builder = ObjectBuilder::new().description(Some(field.description.clone()));
    match &field.rule {
        Rule::Text {
            pattern,
            max_chars,
            format,
        } => {
            // The payment fields' patterns are in the payment's branches
            // (`booking_request`), one per branch: two patterns on one
            // value cannot be generated from, only filtered.
            let pattern = match (field.required, PAYMENT_FIELDS.contains(&field.name)) {
                (_, true) => None,
                (true, false) => Some((*pattern).to_owned()),
                (false, false) => Some(or_blank(pattern)),
            };
            builder
                .schema_type(text_type())
                .pattern(pattern)
                .max_length(*max_chars)
                .format(
                    format
                        .clone()
                        .filter(|_| field.required)
                        .map(SchemaFormat::KnownFormat),
                )
        }
        Rule::Choice(values) => builder
            .schema_type(text_type())
            .enum_values(Some(values.iter().map(|v| Value::from(v.as_str())))),
        Rule::Flag => {
            let words: Vec<&str> = YES.iter().chain(NO.iter()).copied().collect();
            let pattern = format!("^(?:{}|{})$", crate::text::blank!(), words.join("|"));
            let kind = match body {
                Body::Json => SchemaType::from_iter([Type::Boolean, Type::String, Type::Null]),
                Body::Form => SchemaType::new(Type::String),
            };
            builder.schema_type(kind).pattern(Some(pattern))
        }
        Rule::Yes => {
            let mut values: Vec<Value> = Vec::new();
            if body == Body::Json {
                values.push(Value::Bool(true));
            }
            values.extend(YES.iter().map(|v| Value::from(*v)));
            let kind = match body {
                Body::Json => SchemaType::from_iter([Type::Boolean, Type::String]),
                Body::Form => SchemaType::new(Type::String),
            };
            builder.schema_type(kind).enum_values(Some(values))
        }
        Rule::AnyText { max_chars } => builder.schema_type(text_type()).max_length(*max_chars),
    }
    .build()
    .into()
}

/// The booking request for one media type: the fields, closed to others,
/// and the insured condition.
pub fn booking_request(published: &Published, body: Body) -> Schema {
    let fields = fields(published);
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for field in &fields {
        object = object.property(field.name, schema(field, body));
        if field.required {
            object = object.required(field.name);
        }
    }
    let payment_is = |kind: PaymentKind| {
        ObjectBuilder::new().property(
            "payment",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([kind.as_str()])),
        )
    };
    // Self-pay: each payment field may be left out (or blank, or, in JSON,
    // null); insured: each is given and not blank.
    let patterns = [
        ("insurer", Insurer::PATTERN),
        ("policy_number", PolicyNumber::PATTERN),
    ];
    let mut self_pay = payment_is(PaymentKind::SelfPay);
    let mut insured = payment_is(PaymentKind::Insured);
    for (name, pattern) in patterns {
        let optional = match body {
            Body::Json => SchemaType::from_iter([Type::String, Type::Null]),
            Body::Form => SchemaType::new(Type::String),
        };
        self_pay = self_pay.property(
            name,
            ObjectBuilder::new()
                .schema_type(optional)
                .pattern(Some(or_blank(pattern))),
        );
        insured = insured
            .property(
                name,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(pattern)),
            )
            .required(name);
    }
    let insured = AnyOfBuilder::new()
        .item(self_pay)
        .item(insured)
        .description(Some(
            "Self-pay, or insured with both `insurer` and `policy_number` given.",
        ));
    let description = match body {
        Body::Json => "An appointment request from a script. `null`, and a value of only spaces (the no-break and ideographic ones too), tabs and line breaks, count as not given; a field sent twice is a 400; a field not listed is a 422.",
        Body::Form => "An appointment request from a plain HTML form. A value of only spaces (the no-break and ideographic ones too), tabs and line breaks counts as not given; a field sent twice is a 400; a field not listed is a 422.",
    };
    // The date of birth once: as the ISO date with no part given, or as
    // all three parts with no ISO date (left out, blank, or in JSON null).
    let only_blank = || {
        let kind = match body {
            Body::Json => SchemaType::from_iter([Type::String, Type::Null]),
            Body::Form => SchemaType::new(Type::String),
        };
        ObjectBuilder::new()
            .schema_type(kind)
            .pattern(Some(format!("^{}$", crate::text::blank!())))
    };
    let mut as_date = ObjectBuilder::new()
        .property(
            "date_of_birth",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                .pattern(Some(DateOfBirth::PATTERN)),
        )
        .required("date_of_birth");
    let mut as_parts = ObjectBuilder::new().property("date_of_birth", only_blank());
    for part in &PARTS {
        as_date = as_date.property(part.name, only_blank());
        as_parts = as_parts
            .property(
                part.name,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(part.pattern)),
            )
            .required(part.name);
    }
    let date_of_birth = AnyOfBuilder::new()
        .item(as_date)
        .item(as_parts)
        .description(Some(
        "The date of birth as `date_of_birth`, or as its day, month and year: one or the other.",
    ));
    AllOfBuilder::new()
        .item(object)
        .item(insured)
        .item(date_of_birth)
        .description(Some(description))
        .examples([example(published, body)])
        .build()
        .into()
}

/// A request the API accepts, for readers and for the test that sends it.
pub fn example(published: &Published, body: Body) -> Value {
    let specialty = published
        .specialties
        .first()
        .map_or(Specialty::NOT_SURE, |slug| slug.as_str());
    let consent = match body {
        Body::Json => json!(true),
        Body::Form => json!("on"),
    };
    json!({
        "first_name": "Ann",
        "last_name": "Smith",
        "email": "ann.smith@example.com",
        "phone": "07700 900123",
        "date_of_birth": "1970-03-31",
        "specialty": specialty,
        "payment": "insured",
        "insurer": "Bupa",
        "policy_number": "AB-123/45",
        "contact_method": "phone",
        "preferred_times": "Weekday mornings",
        "booking_for": "self",
        "consent_contact": consent,
        "consent_version": published
            .consent_version
            .as_ref()
            .map_or("2026-11", |version| version.as_str()),
    })
}

/// A reference to a component schema.
pub fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// A request or answer body of one media type: the component schema `name`.
pub fn body(name: &str) -> utoipa::openapi::Content {
    utoipa::openapi::ContentBuilder::new()
        .schema(Some(reference(name)))
        .build()
}
