//! The staff email by default (`STAFF_EMAIL=summary`): the reference, when
//! it came and the link to its desk page, and nothing of the patient in
//! any part of the message as it is sent, headers included.

use frontdesk_shared::notify::{Notifier, Outcome};
use frontdesk_shared::time_source::Clock;
use frontdesk_tests::notifier::{
    notifier_config, outbox_dir, shipped_clinic, DESK_URL, STAFF_INBOX,
};
use frontdesk_tests::{booking_with, Backend, TestApp};
use serde_json::json;
use std::sync::Arc;

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
