//! The emails name the clinic as the content publishes it
//! (`content/site.md`): its name as the sender and in the signature, and
//! its phone number. Without the site's details an email is held (an
//! operator pushes them); without the content it is deferred. The staff
//! email by default (`STAFF_EMAIL=summary`) is the reference, when it came
//! and the link to its desk page, and nothing of the patient in any part of
//! the message as it is sent, headers included.

use frontdesk_shared::content::cache::{ContentCache, Publication};
use frontdesk_shared::content::Kind;
use frontdesk_shared::notify::clinic::Published;
use frontdesk_shared::notify::{Notifier, Outcome};
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_shared::time_source::Clock;
use frontdesk_tests::content::{content_copy, edit, ContentHandle};
use frontdesk_tests::notifier::{
    notifier_config, outbox_dir, shipped_clinic, DESK_URL, STAFF_INBOX,
};
use frontdesk_tests::{booking_with, valid_booking, Backend, TestApp};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A booking made through the API, and a notifier for it sending to a
/// fresh outbox as the clinic `clinic` publishes.
async fn booked(
    clinic: Arc<dyn Publication<Published>>,
    name: &str,
) -> (frontdesk_shared::Booking, Notifier, std::path::PathBuf) {
    let app = TestApp::spawn(Backend::Embedded).await;
    let answer = app.post_json(&valid_booking()).await;
    assert_eq!(answer.status, 201);
    let reference = answer.json()["reference"]
        .as_str()
        .expect("a reference")
        .to_owned();
    let booking = app.booking(&reference).await.expect("the booking");
    let outbox = outbox_dir(name);
    let notifier = Notifier::new(
        app.store.ledger(),
        Arc::new(frontdesk_shared::mail::outbox::OutboxMailer::new(
            outbox.clone(),
        )),
        Arc::new(notifier_config(&[])),
        Clock::system(),
        clinic,
    );
    (booking, notifier, outbox)
}

#[tokio::test]
async fn the_emails_name_the_clinic_as_the_content_publishes_it() {
    let folder = content_copy();
    let site = folder.path().join("site.md");
    edit(&site, "name: Cancer Centre London", "name: Fixture Clinic");
    edit(&site, "phone: 020 8247 3351", "phone: 020 7946 0000");
    let content = ContentHandle::create(Backend::Embedded).await;
    content.push(folder.path()).await;
    let clinic = ContentCache::new(
        content.port(),
        Duration::ZERO,
        Clock::system(),
        Published::of,
    )
    .reading(Kind::Site);
    let (booking, notifier, outbox) = booked(Arc::new(clinic), "clinic-named").await;

    let report = notifier.notify(&booking).await.expect("notified");
    for (notice, outcome) in report.outcomes() {
        assert!(matches!(outcome, Outcome::Sent(_)), "{notice}: {outcome:?}");
    }
    let files = frontdesk_tests::outbox::wait_for(&outbox, 2).await;
    assert_eq!(files.len(), 2, "the staff email and the patient's");
    let mut patients = 0;
    for file in &files {
        let raw = std::fs::read(file).expect("an email");
        let email = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("a message");
        let from = email.from().and_then(|f| f.first()).expect("a sender");
        assert_eq!(from.name(), Some("Fixture Clinic"));
        let text = email.body_text(0).expect("a text part");
        assert!(!text.contains("Cancer Centre London"), "{text}");
        if email.subject().is_some_and(|s| s.starts_with("Your")) {
            assert!(text.contains("020 7946 0000"), "{text}");
            assert!(text.contains("Fixture Clinic"), "{text}");
            // Where urgent help is, in the content's words.
            assert!(
                text.contains("not for urgent medical problems")
                    && text.contains("call 999")
                    && text.contains("NHS 111"),
                "{text}"
            );
            patients += 1;
        }
    }
    assert_eq!(patients, 1, "one email was the patient's");
}

#[tokio::test]
async fn without_the_sites_details_emails_are_held_and_without_the_content_deferred() {
    // Nothing published: no site.
    let empty = ContentHandle::create(Backend::Embedded).await;
    let clinic = ContentCache::new(empty.port(), Duration::ZERO, Clock::system(), Published::of)
        .reading(Kind::Site);
    let (booking, notifier, _) = booked(Arc::new(clinic), "clinic-unpublished").await;
    let report = notifier.notify(&booking).await.expect("notified");
    for (notice, outcome) in report.outcomes() {
        assert!(
            matches!(outcome, Outcome::Held { code } if code == "SiteNotPublished"),
            "{notice}: {outcome:?}"
        );
    }

    // The content table unreachable, nothing held: deferred, for a retry.
    let closed = format!("http://127.0.0.1:{}", frontdesk_tests::free_port());
    let client = frontdesk_tests::dynamodb_client_at(closed, Duration::from_millis(500)).await;
    let unreachable = ContentCache::new(
        Arc::new(DynamoContentStore::new(client, "frontdesk-content")),
        Duration::from_secs(60),
        Clock::system(),
        Published::of,
    )
    .reading(Kind::Site);
    let (booking, notifier, _) = booked(Arc::new(unreachable), "clinic-unreachable").await;
    let report = notifier.notify(&booking).await.expect("notified");
    for (notice, outcome) in report.outcomes() {
        assert!(
            matches!(outcome, Outcome::Deferred { .. }),
            "{notice}: {outcome:?}"
        );
    }
}

/// Everything of the fixture patient, in every form it could be written.
const PATIENT: [&str; 16] = [
    "Fixture",
    "Patient",
    "fixture.patient",
    "example.com",
    "07700",
    "7700 900123",
    "+447700900123",
    "1970",
    "31 March",
    "03-31",
    "neuroendocrine",
    "Neuroendocrine",
    "tumours",
    "FX-123456",
    "Fixture Health",
    "call after 10am",
];

#[tokio::test]
async fn the_summary_staff_email_holds_the_reference_and_a_link_and_nothing_of_the_patient() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let body = booking_with("message", json!("Fixture message: please call after 10am."));
    let answer = app.post_json(&body).await;
    assert_eq!(answer.status, 201);
    let reference = answer.json()["reference"].as_str().unwrap().to_owned();
    let booking = app.booking(&reference).await.unwrap();
    let outbox = outbox_dir("summary");
    let notifier = Notifier::new(
        app.store.ledger(),
        Arc::new(frontdesk_shared::mail::outbox::OutboxMailer::new(
            outbox.clone(),
        )),
        Arc::new(notifier_config(&[("STAFF_INBOX_ROUTES", "")])),
        Clock::system(),
        shipped_clinic(),
    );
    let report = notifier.notify(&booking).await.unwrap();
    for (notice, outcome) in report.outcomes() {
        assert!(matches!(outcome, Outcome::Sent(_)), "{notice}: {outcome:?}");
    }
    let files = frontdesk_tests::outbox::wait_for(&outbox, 2).await;
    let mut staff = None;
    for file in &files {
        let raw = String::from_utf8(std::fs::read(file).unwrap()).unwrap();
        let email = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        if email
            .subject()
            .unwrap_or_default()
            .starts_with("New appointment request")
        {
            staff = Some(raw);
        }
    }
    let raw = staff.expect("a staff email");
    let email = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    assert_eq!(
        email.subject(),
        Some(format!("New appointment request {reference}").as_str())
    );
    let reply_to = email
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap();
    assert_eq!(
        reply_to, STAFF_INBOX,
        "replies go to the staff inbox, never the patient"
    );
    let text = email.body_text(0).unwrap();
    assert!(
        text.contains(&format!("{DESK_URL}/desk/requests/{reference}")),
        "{text}"
    );
    assert!(text.contains("GMT") || text.contains("BST"), "{text}");
    // The whole message as sent: every header and every part, decoded.
    let html = email.body_html(0).unwrap();
    let everything = format!("{raw}\n{text}\n{html}");
    for detail in PATIENT {
        assert!(
            !everything.contains(detail),
            "the staff summary holds {detail:?}:\n{raw}"
        );
    }
}
