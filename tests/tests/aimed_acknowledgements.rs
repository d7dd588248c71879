//! The form cannot be aimed at someone's inbox: one address is sent at most
//! three acknowledgements in 24 hours, however many sources ask, and none
//! of them carries text the sender typed. Every booking is still stored
//! and every one still reaches staff, who are told when a patient was not
//! acknowledged.

use frontdesk_shared::booking::{Reference, Withheld};
use frontdesk_shared::notify::{Notice, Notifier, Outcome};
use frontdesk_shared::time_source::Clock;
use frontdesk_tests::notifier::{notifier_config, outbox_dir, shipped_clinic};
use frontdesk_tests::{for_each_backend, nth_booking, Backend, TestApp};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

for_each_backend!(
    four_bookings_to_one_address_make_four_requests_for_staff_and_three_acknowledgements,
    past_the_hourly_ceiling_acknowledgements_are_withheld_and_bookings_still_taken,
);

const TARGET: &str = "someone.else@example.com";

async fn four_bookings_to_one_address_make_four_requests_for_staff_and_three_acknowledgements(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let outbox = outbox_dir("aimed");
    let notifier = Notifier::new(
        app.store.ledger(),
        Arc::new(frontdesk_shared::mail::outbox::OutboxMailer::new(
            outbox.clone(),
        )),
        Arc::new(notifier_config(&[])),
        Clock::system(),
        shipped_clinic(),
    );
    let mut typed = Vec::new();
    let mut references = Vec::new();
    for n in 0..4 {
        let mut body = nth_booking(60 + n);
        body["email"] = json!(TARGET);
        let name = ["Visitevil", "Clickhere", "Winaprize", "Callnow"][n];
        body["first_name"] = json!(name);
        typed.push(name.to_owned());
        typed.push(body["last_name"].as_str().unwrap().to_owned());
        let source: IpAddr = format!("198.51.100.{}", 10 + n).parse().unwrap();
        let answer = app
            .post_from(
                "application/json",
                body.to_string(),
                &[("idempotency-key", &format!("aimed-{n}"))],
                source,
            )
            .await;
        assert_eq!(answer.status, 201, "booking {n} is taken like any other");
        references.push(answer.json()["reference"].as_str().unwrap().to_owned());
    }
    assert_eq!(app.store.count().await, 4, "every booking is stored");

    let mut withheld = Vec::new();
    for reference in &references {
        let booking = app.booking(reference).await.expect("stored");
        let report = notifier.notify(&booking).await.expect("notified");
        assert!(matches!(report.staff, Outcome::Sent(_)), "{report:?}");
        match report.patient {
            Outcome::Sent(_) => {}
            Outcome::Withheld { why } => {
                assert_eq!(why, Withheld::AddressCap);
                withheld.push(reference.clone());
            }
            other => panic!("{reference}: {other:?}"),
        }
        // Notified again (a redelivered stream record), nothing changes.
        let again = notifier.notify(&booking).await.expect("notified");
        assert!(!again.must_retry(), "{again:?}");
    }
    assert_eq!(withheld, [references[3].clone()], "the fourth is withheld");

    let files = frontdesk_tests::outbox::wait_for(&outbox, 7).await;
    assert_eq!(
        files.len(),
        7,
        "four staff emails and three acknowledgements"
    );
    let (mut to_staff, mut to_target, mut staff_told) = (0, 0, 0);
    for file in &files {
        let raw = std::fs::read(file).expect("an email");
        let email = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("a message");
        let to = email
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        let text = email.body_text(0).expect("a text part").into_owned();
        let html = email
            .body_html(0)
            .map(|h| h.into_owned())
            .unwrap_or_default();
        if to == TARGET {
            to_target += 1;
            for word in &typed {
                assert!(
                    !text.contains(word.as_str()) && !html.contains(word.as_str()),
                    "the acknowledgement holds {word:?}"
                );
            }
        } else {
            to_staff += 1;
            if text.contains("No acknowledgement was emailed") {
                staff_told += 1;
                assert!(text.contains(&references[3]), "{text}");
            }
        }
    }
    assert_eq!((to_staff, to_target, staff_told), (4, 3, 1));

    // The desk shows the fourth's acknowledgement as withheld, not failed.
    let patient = app
        .store
        .ledger()
        .state(&Reference::parse(&references[3]).unwrap(), Notice::Patient)
        .await
        .expect("readable")
        .expect("the patient's email");
    assert_eq!(
        patient
            .failed
            .as_deref()
            .and_then(frontdesk_shared::notify::ledger::withheld_of),
        Some(Withheld::AddressCap)
    );
}

async fn past_the_hourly_ceiling_acknowledgements_are_withheld_and_bookings_still_taken(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let outbox = outbox_dir("ceiling");
    let notifier = Notifier::new(
        app.store.ledger(),
        Arc::new(frontdesk_shared::mail::outbox::OutboxMailer::new(
            outbox.clone(),
        )),
        Arc::new(notifier_config(&[("ACKNOWLEDGEMENTS_PER_HOUR", "2")])),
        Clock::system(),
        shipped_clinic(),
    )
    .with_ceiling(app.store.acknowledgements());
    let mut outcomes = Vec::new();
    for n in 0..3 {
        let answer = app.post_json(&nth_booking(70 + n)).await;
        assert_eq!(
            answer.status, 201,
            "a booking is never refused for the ceiling"
        );
        let reference = answer.json()["reference"].as_str().unwrap().to_owned();
        let booking = app.booking(&reference).await.expect("stored");
        let report = notifier.notify(&booking).await.expect("notified");
        assert!(matches!(report.staff, Outcome::Sent(_)), "{report:?}");
        outcomes.push(report.patient);
    }
    assert!(matches!(outcomes[0], Outcome::Sent(_)));
    assert!(matches!(outcomes[1], Outcome::Sent(_)));
    assert_eq!(
        outcomes[2],
        Outcome::Withheld {
            why: Withheld::HourlyCeiling
        }
    );
    assert_eq!(frontdesk_tests::outbox::wait_for(&outbox, 5).await.len(), 5);
}
