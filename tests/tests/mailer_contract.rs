//! One contract for every `Mailer`: the outbox folder and SES (through the
//! SES v2 emulator) deliver the same message, with both parts, and sort
//! failures into transient and permanent alike.

use frontdesk_shared::booking::Email;
use frontdesk_shared::mail::outbox::OutboxMailer;
use frontdesk_shared::mail::ses::{Fixer, ERRORS};
use frontdesk_shared::mail::{HeaderText, MailError, Mailer, OutgoingEmail, Sender};
use frontdesk_tests::notifier::{outbox_mailer, ses_mailer, ses_mailer_without_retries};
use frontdesk_tests::ses::{
    emails, rejecting_proxy, ses_endpoint, Fault, FaultProxy, SesEmulator, SesError,
    SENDING_PAUSED, SUPPRESSED,
};

/// What a mailer delivered, read back from where it went.
#[derive(Debug, PartialEq, Eq)]
struct Delivered {
    from: String,
    to: String,
    reply_to: String,
    subject: String,
    text: String,
    html: String,
}

fn email(subject: &str, to: &str) -> OutgoingEmail {
    OutgoingEmail::new(
        Sender {
            name: HeaderText::parse("name", "Clinique Séverine \"Fixture\"").unwrap(),
            address: Email::parse("bookings@clinic.example").unwrap(),
        },
        Email::parse(to).unwrap(),
        Email::parse("reply.here@example.com").unwrap(),
        subject,
        "Plain part: café & <tags> stay as typed.\nSecond line.".into(),
        "<p>HTML part: caf&eacute; &amp; &lt;tags&gt;</p>".into(),
    )
    .unwrap()
}

fn unique(label: &str) -> String {
    format!("{label} {:08x} — naïve", getrandom::u32().unwrap())
}

async fn delivered_by_outbox(mailer: &OutboxMailer, message_id: &str) -> Delivered {
    let raw = std::fs::read(mailer.dir().join(message_id)).expect("the .eml file");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("RFC 5322");
    let first = |list: Option<&mail_parser::Address>| {
        list.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned()
    };
    let from = message.from().and_then(|a| a.first()).unwrap();
    Delivered {
        from: format!(
            "{} <{}>",
            from.name().unwrap_or_default(),
            from.address().unwrap_or_default()
        ),
        to: first(message.to()),
        reply_to: first(message.reply_to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .unwrap_or_default()
            // RFC 5322 lines end in CRLF on the wire.
            .replace("\r\n", "\n")
            .trim_end()
            .to_owned(),
        html: message
            .body_html(0)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

async fn delivered_by_ses(endpoint: &str, subject: &str) -> Delivered {
    let found = emails(endpoint, subject).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let e = &found[0];
    // The From SES was given, read as a mail client reads the header: a
    // quoted name unquoted, an RFC 2047 encoded word (a name beyond ASCII,
    // as SES requires it) decoded.
    let header = format!("From: {}\r\n\r\n", e.from);
    let parsed = mail_parser::MessageParser::default()
        .parse(header.as_bytes())
        .expect("a From header");
    let sender = parsed.from().and_then(|f| f.first()).expect("a sender");
    let from = format!(
        "{} <{}>",
        sender.name().unwrap_or_default(),
        sender.address().unwrap_or_default()
    );
    Delivered {
        from,
        to: e.to.join(","),
        reply_to: e.reply_to.join(","),
        subject: e.subject.clone(),
        text: e.text.trim_end().to_owned(),
        html: e.html.trim_end().to_owned(),
    }
}

fn expected(subject: &str) -> Delivered {
    let e = email(subject, "fixture.patient@example.com");
    Delivered {
        from: "Clinique Séverine \"Fixture\" <bookings@clinic.example>".into(),
        to: "fixture.patient@example.com".into(),
        reply_to: "reply.here@example.com".into(),
        subject: subject.into(),
        text: e.text().into(),
        html: e.html().into(),
    }
}

#[tokio::test]
async fn outbox_delivers_the_message_whole() {
    let mailer = outbox_mailer("contract");
    let subject = unique("Outbox contract");
    let sent = mailer
        .send(&email(&subject, "fixture.patient@example.com"))
        .await
        .unwrap();
    assert!(sent.receipt.ends_with(".eml"));
    assert_eq!(
        delivered_by_outbox(&mailer, &sent.message_id).await,
        expected(&subject)
    );
    let _ = std::fs::remove_dir_all(mailer.dir());
}

#[tokio::test]
async fn ses_delivers_the_message_whole() {
    let endpoint = ses_endpoint();
    let mailer = ses_mailer(&endpoint).await;
    let subject = unique("SES contract");
    let sent = mailer
        .send(&email(&subject, "fixture.patient@example.com"))
        .await
        .unwrap();
    assert!(!sent.message_id.is_empty());
    assert_eq!(
        delivered_by_ses(&endpoint, &subject).await,
        expected(&subject)
    );
}

#[tokio::test]
async fn an_unreachable_mailer_is_a_transient_failure() {
    // SES: the emulator stopped.
    let mut ses = SesEmulator::start().await;
    let mailer = ses_mailer(&ses.endpoint()).await;
    ses.stop();
    let error = mailer
        .send(&email("Unreachable", "fixture.patient@example.com"))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");

    // Outbox: the folder cannot be created (a file stands in its place).
    let blocked = std::env::temp_dir().join(format!("frontdesk-blocked-{}", std::process::id()));
    std::fs::write(&blocked, b"not a folder").unwrap();
    let error = OutboxMailer::new(blocked.join("outbox"))
        .send(&email("Unwritable", "fixture.patient@example.com"))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    let _ = std::fs::remove_file(blocked);
}

#[tokio::test]
async fn ses_refusing_an_address_is_a_permanent_failure_with_its_code() {
    let proxy = rejecting_proxy(ses_endpoint(), &["fixture.rejected@example.com"]).await;
    let error = ses_mailer(&proxy)
        .await
        .send(&email("Rejected", "fixture.rejected@example.com"))
        .await
        .unwrap_err();
    match error {
        MailError::Permanent { code, .. } => assert_eq!(code, "MessageRejected"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

/// SES's error answers, each with the class it must get. Statuses, codes
/// and wording as the service sends them (the SES v2 API reference's error
/// list, and what the service answers for the sandbox and for credentials).
const SES_ANSWERS: &[(SesError, Fixer)] = &[
    (
        SesError {
            status: 400,
            code: "MessageRejected",
            message: "Email address is not verified. The following identities failed the check in region EU-WEST-2: fixture.patient@example.com",
        },
        Fixer::Account,
    ),
    (SUPPRESSED, Fixer::Message),
    (
        SesError {
            status: 400,
            code: "BadRequestException",
            message: "Missing final '@domain'",
        },
        Fixer::Message,
    ),
    (SENDING_PAUSED, Fixer::Account),
    (
        SesError {
            status: 400,
            code: "AccountSuspendedException",
            message: "Your account has been suspended and is unable to send email.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 400,
            code: "MailFromDomainNotVerifiedException",
            message: "The MAIL FROM domain is not verified.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 404,
            code: "NotFoundException",
            message: "Configuration set <frontdesk-test> does not exist.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 400,
            code: "LimitExceededException",
            message: "Daily message quota exceeded.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "AccessDeniedException",
            message: "User: arn:aws:sts::123456789012:assumed-role/frontdesk-notifier/fn is not authorized to perform: ses:SendEmail",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "UnrecognizedClientException",
            message: "The security token included in the request is invalid.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "InvalidClientTokenId",
            message: "The security token included in the request is invalid.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "InvalidSignatureException",
            message: "The request signature we calculated does not match the signature you provided.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 403,
            code: "ExpiredTokenException",
            message: "The security token included in the request is expired",
        },
        Fixer::Moment,
    ),
    (
        SesError {
            status: 429,
            code: "TooManyRequestsException",
            message: "Maximum sending rate exceeded.",
        },
        Fixer::Moment,
    ),
    (
        SesError {
            status: 400,
            code: "ThrottlingException",
            message: "Rate exceeded",
        },
        Fixer::Moment,
    ),
    (
        SesError {
            status: 400,
            code: "Throttling",
            message: "Rate exceeded",
        },
        Fixer::Moment,
    ),
    (
        SesError {
            status: 500,
            code: "InternalFailure",
            message: "The request processing has failed because of an unknown error.",
        },
        Fixer::Moment,
    ),
    (
        SesError {
            status: 503,
            code: "ServiceUnavailable",
            message: "Service is unavailable.",
        },
        Fixer::Moment,
    ),
    // Codes nobody listed: a 4xx waits for an operator, a 5xx for time.
    (
        SesError {
            status: 400,
            code: "SomeFutureException",
            message: "Something new went wrong.",
        },
        Fixer::Account,
    ),
    (
        SesError {
            status: 502,
            code: "BadGateway",
            message: "Bad gateway.",
        },
        Fixer::Moment,
    ),
];

#[tokio::test]
async fn every_ses_error_is_sorted_by_who_can_fix_it_through_the_real_client() {
    for (error, expected) in SES_ANSWERS {
        let proxy = FaultProxy::start(ses_endpoint(), Fault::First(usize::MAX), *error).await;
        let got = ses_mailer_without_retries(&proxy.endpoint())
            .await
            .send(&email("Sorted", "fixture.patient@example.com"))
            .await
            .unwrap_err();
        assert_eq!(proxy.refused(), 1, "{error:?}: one request");
        let (class, code) = match &got {
            MailError::Permanent { code, .. } => (Fixer::Message, Some(code.as_str())),
            MailError::Held { code, .. } => (Fixer::Account, Some(code.as_str())),
            MailError::Transient(_) => (Fixer::Moment, None),
            MailError::Refused { .. } => panic!("{error:?}: refused before sending: {got:?}"),
        };
        assert_eq!(class, *expected, "{error:?} -> {got:?}");
        if let Some(code) = code {
            assert_eq!(code, error.code, "the code is kept for the booking");
        }
    }
    // Every row of the code's table has a case here.
    for (code, phrase, fixer) in ERRORS {
        assert!(
            SES_ANSWERS
                .iter()
                .any(|(answer, expected)| answer.code == *code
                    && expected == fixer
                    && phrase.is_none_or(|p| answer.message.to_lowercase().contains(p))),
            "no case for {code} {phrase:?}"
        );
    }
}

#[test]
fn no_value_can_add_a_header() {
    let sender = Sender {
        name: HeaderText::parse("name", "Clinic").unwrap(),
        address: Email::parse("bookings@clinic.example").unwrap(),
    };
    let refused = OutgoingEmail::new(
        sender,
        Email::parse("a@example.com").unwrap(),
        Email::parse("b@example.com").unwrap(),
        "Hello\r\nBcc: everyone@example.com",
        String::new(),
        String::new(),
    )
    .unwrap_err();
    assert_eq!(refused.code(), "HeaderRefused");
    assert!(HeaderText::parse("name", "Clinic\nBcc: x@example.com").is_err());
}
