//! One contract for every `NoticeLedger` (DynamoDB Local and embedded):
//! claims exclude each other until they expire, marks end them, both
//! emails claimed or marked together behave as each on its own, and a
//! missing booking is said to be missing.

use frontdesk_shared::booking::Reference;
use frontdesk_shared::notify::{Claim, ClaimToken, Notice, NoticeLedger, Notifier, Outcome};
use frontdesk_tests::notifier::{notifier_over, outbox_mailer};
use frontdesk_tests::{for_each_backend, nth_booking, valid_booking, Backend, TestApp};
use std::sync::Arc;
use time::Duration;

async fn booked(app: &TestApp, n: usize) -> Reference {
    let answer = app.post_json(&nth_booking(n)).await;
    assert_eq!(answer.status, 201);
    Reference::parse(answer.json()["reference"].as_str().unwrap()).unwrap()
}

/// Claims `notice` at `at` and marks it sent as message `id`.
async fn settle_sent(
    ledger: &Arc<dyn NoticeLedger>,
    reference: &Reference,
    notice: Notice,
    id: &str,
    at: time::OffsetDateTime,
) {
    let token = ClaimToken::new();
    ledger
        .claim(reference, notice, &token, at, at + Duration::minutes(2))
        .await
        .unwrap();
    ledger.mark_sent(reference, notice, id, at).await.unwrap();
}

/// Claims `notice` at `at` and marks it refused for good with `code`.
async fn settle_failed(
    ledger: &Arc<dyn NoticeLedger>,
    reference: &Reference,
    notice: Notice,
    code: &str,
    at: time::OffsetDateTime,
) {
    let token = ClaimToken::new();
    ledger
        .claim(reference, notice, &token, at, at + Duration::minutes(2))
        .await
        .unwrap();
    ledger
        .mark_failed(reference, notice, code, at)
        .await
        .unwrap();
}

async fn claims_exclude_each_other_until_they_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let reference = booked(&app, 1).await;
    let now = app.clock.now();
    let (first, second) = (ClaimToken::new(), ClaimToken::new());
    let until = now + Duration::minutes(2);
    let claim = |token, at| ledger.claim(&reference, Notice::Staff, token, at, until);

    assert_eq!(claim(&first, now).await.unwrap(), Claim::Claimed);
    let state = ledger
        .state(&reference, Notice::Staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.claimed_until,
        Some(until.unix_timestamp()),
        "the claim is kept with its expiry"
    );
    match claim(&second, now).await.unwrap() {
        Claim::HeldElsewhere { until: held } => {
            assert_eq!(held.unix_timestamp(), until.unix_timestamp())
        }
        other => panic!("expected the claim to be held, got {other:?}"),
    }
    // The other email is claimed on its own.
    assert_eq!(
        ledger
            .claim(&reference, Notice::Patient, &second, now, until)
            .await
            .unwrap(),
        Claim::Claimed
    );
    // A crashed attempt's claim lapses.
    let later = until + Duration::seconds(1);
    let third = ClaimToken::new();
    assert_eq!(
        ledger
            .claim(
                &reference,
                Notice::Staff,
                &third,
                later,
                later + Duration::minutes(2)
            )
            .await
            .unwrap(),
        Claim::Claimed
    );
    // Releasing someone else's claim changes nothing.
    ledger
        .release(&reference, Notice::Staff, &first)
        .await
        .unwrap();
    assert!(matches!(
        claim(&second, later).await.unwrap(),
        Claim::HeldElsewhere { .. }
    ));
    ledger
        .release(&reference, Notice::Staff, &third)
        .await
        .unwrap();
    assert_eq!(claim(&second, later).await.unwrap(), Claim::Claimed);
}

async fn marks_settle_an_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let reference = booked(&app, 2).await;
    let now = app.clock.now();
    let until = now + Duration::minutes(2);
    let token = ClaimToken::new();
    ledger
        .claim(&reference, Notice::Staff, &token, now, until)
        .await
        .unwrap();
    ledger
        .mark_sent(&reference, Notice::Staff, "message-1", now)
        .await
        .unwrap();
    ledger
        .claim(&reference, Notice::Patient, &token, now, until)
        .await
        .unwrap();
    ledger
        .mark_failed(&reference, Notice::Patient, "MessageRejected", now)
        .await
        .unwrap();

    let later = until + Duration::hours(1);
    assert_eq!(
        ledger
            .claim(&reference, Notice::Staff, &token, later, later)
            .await
            .unwrap(),
        Claim::AlreadySent
    );
    assert_eq!(
        ledger
            .claim(&reference, Notice::Patient, &token, later, later)
            .await
            .unwrap(),
        Claim::AlreadyFailed {
            code: "MessageRejected".into()
        }
    );
    let staff = app.store.notice(reference.as_str(), Notice::Staff).await;
    assert_eq!(staff.message_id.as_deref(), Some("message-1"));
    assert!(staff.sent_at.is_some() && staff.claimed_until.is_none());
    // The booking itself reads back unchanged.
    assert!(app.booking(reference.as_str()).await.is_some());
}

async fn a_missing_booking_is_never_claimed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let missing = Reference::parse("CCL-0000-0000").unwrap();
    let now = app.clock.now();
    assert_eq!(
        ledger
            .claim(
                &missing,
                Notice::Staff,
                &ClaimToken::new(),
                now,
                now + Duration::minutes(2)
            )
            .await
            .unwrap(),
        Claim::NoBooking
    );
    // Nor marked, held or released: there is nothing to change, and that
    // is no error (a booking may expire while its email is sent).
    let (token, at) = (ClaimToken::new(), now);
    ledger
        .mark_sent(&missing, Notice::Staff, "message-1", at)
        .await
        .unwrap();
    ledger
        .mark_failed(&missing, Notice::Patient, "MessageRejected", at)
        .await
        .unwrap();
    ledger
        .hold(
            &missing,
            Notice::Staff,
            &token,
            "SendingPausedException",
            at,
        )
        .await
        .unwrap();
    ledger
        .release(&missing, Notice::Staff, &token)
        .await
        .unwrap();
    assert_eq!(ledger.state(&missing, Notice::Staff).await.unwrap(), None);
    assert_eq!(ledger.state(&missing, Notice::Patient).await.unwrap(), None);
}

async fn notify_sends_each_email_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mailer = Arc::new(outbox_mailer("ledger"));
    let notifier: Notifier = notifier_over(&app.store, mailer.clone(), &[], app.clock.clock());
    let answer = app.post_json(&valid_booking()).await;
    let booking = app
        .booking(answer.json()["reference"].as_str().unwrap())
        .await
        .unwrap();
    let first = notifier.notify(&booking).await.unwrap();
    assert!(matches!(first.staff, Outcome::Sent(_)) && matches!(first.patient, Outcome::Sent(_)));
    let again = notifier.notify(&booking).await.unwrap();
    assert_eq!(
        (again.staff, again.patient),
        (Outcome::AlreadySent, Outcome::AlreadySent)
    );
    let files = std::fs::read_dir(mailer.dir()).unwrap().count();
    assert_eq!(files, 2);
    let _ = std::fs::remove_dir_all(mailer.dir());
}

async fn owed_lists_bookings_with_an_unsettled_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let mut booked_in_turn = Vec::new();
    for n in 11..=15 {
        booked_in_turn.push(booked(&app, n).await);
        app.clock.advance(Duration::seconds(1));
    }
    let [both_sent, sent_and_failed, staff_sent, claimed, untouched] =
        <[Reference; 5]>::try_from(booked_in_turn).unwrap();
    let now = app.clock.now();
    let until = now + Duration::minutes(2);
    let token = ClaimToken::new();
    for (reference, notice) in [
        (&both_sent, Notice::Staff),
        (&both_sent, Notice::Patient),
        (&sent_and_failed, Notice::Staff),
        (&staff_sent, Notice::Staff),
    ] {
        ledger
            .claim(reference, notice, &token, now, until)
            .await
            .unwrap();
        ledger
            .mark_sent(reference, notice, "message", now)
            .await
            .unwrap();
    }
    ledger
        .claim(&sent_and_failed, Notice::Patient, &token, now, until)
        .await
        .unwrap();
    ledger
        .mark_failed(&sent_and_failed, Notice::Patient, "MessageRejected", now)
        .await
        .unwrap();
    ledger
        .claim(&claimed, Notice::Patient, &token, now, until)
        .await
        .unwrap();
    app.clock.advance(Duration::minutes(10));
    let late = booked(&app, 16).await;
    let now = app.clock.now();

    let references = |owed: frontdesk_shared::notify::Owed| {
        assert!(owed.unreadable.is_empty(), "{:?}", owed.unreadable);
        owed.bookings
            .into_iter()
            .map(|b| b.reference)
            .collect::<Vec<_>>()
    };
    // Settled emails (sent, or failed for good) are not owed; a claim in
    // progress is, and so is an email never tried. Oldest first.
    let owed = ledger.owed(now - Duration::minutes(5), now).await.unwrap();
    assert_eq!(
        references(owed),
        [staff_sent.clone(), claimed.clone(), untouched.clone()]
    );
    // The booking made just now is left out until it is older than the cut.
    let owed = ledger.owed(now + Duration::seconds(1), now).await.unwrap();
    assert_eq!(references(owed), [staff_sent, claimed, untouched, late]);
    // Past their retention, bookings owe nothing.
    let after_retention = now + Duration::days(400);
    let owed = ledger.owed(after_retention, after_retention).await.unwrap();
    assert!(owed.bookings.is_empty(), "{owed:?}");
}

async fn a_held_email_stays_owed_until_it_is_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let reference = booked(&app, 21).await;
    let now = app.clock.now();
    let until = now + Duration::minutes(2);
    let token = ClaimToken::new();
    ledger
        .claim(&reference, Notice::Staff, &token, now, until)
        .await
        .unwrap();
    ledger
        .hold(
            &reference,
            Notice::Staff,
            &token,
            "SendingPausedException",
            now,
        )
        .await
        .unwrap();
    let state = ledger
        .state(&reference, Notice::Staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.held.as_deref(), Some("SendingPausedException"));
    assert!(state.held_at.is_some() && state.failed.is_none() && state.sent_at.is_none());
    assert_eq!(state.claimed_until, None, "holding ends the claim");
    let owed = ledger.owed(now + Duration::seconds(1), now).await.unwrap();
    assert_eq!(owed.bookings.len(), 1, "a held email is owed");

    // Claimed again at once, sent, and the hold is gone.
    let again = ClaimToken::new();
    assert_eq!(
        ledger
            .claim(&reference, Notice::Staff, &again, now, until)
            .await
            .unwrap(),
        Claim::Claimed
    );
    ledger
        .mark_sent(&reference, Notice::Staff, "message", now)
        .await
        .unwrap();
    let state = ledger
        .state(&reference, Notice::Staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.held, state.held_at), (None, None));
    assert!(state.sent_at.is_some());
}

async fn the_sweep_reads_old_bookings_and_skips_unreadable_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (old, broken, fine) = (
        booked(&app, 31).await,
        booked(&app, 32).await,
        booked(&app, 33).await,
    );
    // Stored by earlier, looser rules: longer than today's bounds, a name
    // with digits, a number from abroad.
    app.store
        .overwrite(old.as_str(), |record| {
            record["first_name"] = "Fixture 2nd".into();
            record["policy_number"] = "P".repeat(80).into();
            record["payment"] = "insured".into();
            record["insurer"] = "Fixture Insurer".into();
            record["message"] = "m".repeat(3_000).into();
            record["phone"] = "+33142685300".into();
        })
        .await;
    // Damaged: the phone stored as a number, which no booking can hold.
    app.store
        .overwrite(broken.as_str(), |record| {
            record["phone"] = serde_json::json!(447700900123_u64);
        })
        .await;
    app.clock.advance(Duration::minutes(20));
    let now = app.clock.now();
    let owed = app.store.ledger().owed(now, now).await.unwrap();
    assert_eq!(
        owed.unreadable,
        [broken.as_str()],
        "the damaged booking is named, for repair"
    );
    let mailer = outbox_mailer("sweep-old");
    let notifier = notifier_over(&app.store, Arc::new(mailer.clone()), &[], app.clock.clock());
    let done = notifier
        .sweep(std::time::Duration::from_secs(60), None, |_, _| {})
        .await
        .unwrap();
    assert_eq!(done.unreadable, 1, "{done:?}");
    assert_eq!(
        (done.bookings, done.sent, done.owed_after()),
        (2, 4, 0),
        "{done:?}"
    );
    for reference in [&old, &fine] {
        for notice in Notice::ALL {
            assert!(app
                .store
                .notice(reference.as_str(), notice)
                .await
                .sent_at
                .is_some());
        }
    }
    let _ = std::fs::remove_dir_all(mailer.dir());
}

async fn delivery_only_moves_forward_and_only_for_the_sent_message(backend: Backend) {
    use frontdesk_shared::notify::{Delivery, Recorded};
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let reference = booked(&app, 22).await;
    let now = app.clock.now();
    let record = |notice, id: &'static str, delivery, detail: Option<&'static str>| {
        let (ledger, reference) = (ledger.clone(), reference.clone());
        async move {
            ledger
                .record_delivery(&reference, notice, id, delivery, detail, now)
                .await
                .unwrap()
        }
    };
    // Before its sent mark, an event is early.
    assert_eq!(
        record(Notice::Staff, "m-1", Delivery::Delivered, None).await,
        Recorded::NotYetSent
    );
    let token = ClaimToken::new();
    ledger
        .claim(
            &reference,
            Notice::Staff,
            &token,
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    ledger
        .mark_sent(&reference, Notice::Staff, "m-1", now)
        .await
        .unwrap();
    let state = || {
        let (ledger, reference) = (ledger.clone(), reference.clone());
        async move {
            let s = ledger
                .state(&reference, Notice::Staff)
                .await
                .unwrap()
                .unwrap();
            (s.delivery, s.delivery_detail)
        }
    };
    for (delivery, detail, expected, now_is) in [
        (Delivery::Sent, None, Recorded::Applied, "sent"),
        (Delivery::Delivered, None, Recorded::Applied, "delivered"),
        // Replayed, and late: nothing moves back.
        (Delivery::Delivered, None, Recorded::Unchanged, "delivered"),
        (Delivery::Delayed, None, Recorded::Unchanged, "delivered"),
        (Delivery::Sent, None, Recorded::Unchanged, "delivered"),
        // A later bounce may follow a delivery; then nothing replaces it.
        (
            Delivery::Bounced,
            Some("Permanent/General"),
            Recorded::Applied,
            "bounced",
        ),
        (
            Delivery::Complained,
            Some("abuse"),
            Recorded::Unchanged,
            "bounced",
        ),
    ] {
        assert_eq!(
            record(Notice::Staff, "m-1", delivery, detail).await,
            expected,
            "{delivery}"
        );
        assert_eq!(state().await.0.as_deref(), Some(now_is), "after {delivery}");
    }
    assert_eq!(state().await.1.as_deref(), Some("Permanent/General"));
    // An event about another message (a superseded send) changes nothing.
    let patient = ClaimToken::new();
    ledger
        .claim(
            &reference,
            Notice::Patient,
            &patient,
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    ledger
        .mark_sent(&reference, Notice::Patient, "p-2", now)
        .await
        .unwrap();
    assert_eq!(
        record(Notice::Patient, "p-1", Delivery::Bounced, None).await,
        Recorded::Unchanged
    );
    assert_eq!(
        ledger
            .state(&reference, Notice::Patient)
            .await
            .unwrap()
            .unwrap()
            .delivery,
        None
    );
    // No such booking: nothing to change.
    let gone = Reference::parse("CCL-0000-0000").unwrap();
    assert_eq!(
        ledger
            .record_delivery(&gone, Notice::Staff, "m-1", Delivery::Delivered, None, now)
            .await
            .unwrap(),
        Recorded::Unchanged
    );
}

async fn staff_undelivered_lists_bad_and_late_staff_emails_until_their_fallback_settles(
    backend: Backend,
) {
    use frontdesk_shared::notify::Delivery;
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let now = app.clock.now();
    let (bounced, late, delivered, unsent, recent, old, refused) = (
        booked(&app, 91).await,
        booked(&app, 92).await,
        booked(&app, 93).await,
        booked(&app, 94).await,
        booked(&app, 95).await,
        booked(&app, 98).await,
        booked(&app, 99).await,
    );
    for (reference, at) in [
        (&bounced, now),
        (&late, now - Duration::minutes(30)),
        (&delivered, now - Duration::minutes(30)),
        (&recent, now - Duration::minutes(5)),
        // Before the window: deploying the check never resends old bookings.
        (&old, now - Duration::days(3)),
    ] {
        settle_sent(&ledger, reference, Notice::Staff, "m", at).await;
    }
    settle_failed(&ledger, &refused, Notice::Staff, "MessageRejected", now).await;
    for (reference, delivery) in [
        (&bounced, Delivery::Bounced),
        (&delivered, Delivery::Delivered),
        (&late, Delivery::Delayed),
    ] {
        ledger
            .record_delivery(reference, Notice::Staff, "m", delivery, None, now)
            .await
            .unwrap();
    }
    let listed = || {
        let ledger = ledger.clone();
        async move {
            let found = ledger
                .staff_undelivered(now - Duration::days(2), now - Duration::minutes(15), now)
                .await
                .unwrap();
            let mut refs: Vec<Reference> =
                found.bookings.into_iter().map(|b| b.reference).collect();
            refs.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            refs
        }
    };
    let mut expected = vec![bounced.clone(), late.clone(), refused.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(
        listed().await,
        expected,
        "not {unsent:?}, {delivered:?}, {recent:?} or {old:?}"
    );
    // Once the fallback is sent (or refused), the booking is settled.
    settle_sent(&ledger, &bounced, Notice::StaffFallback, "m", now).await;
    settle_failed(
        &ledger,
        &late,
        Notice::StaffFallback,
        "NoFallbackInbox",
        now,
    )
    .await;
    settle_sent(&ledger, &refused, Notice::StaffFallback, "m", now).await;
    assert!(listed().await.is_empty());
    // The fallback is no email every booking owes: the owed sweep ignores it.
    let owed = ledger.owed(now + Duration::seconds(1), now).await.unwrap();
    assert!(
        owed.bookings.iter().any(|b| b.reference == bounced),
        "its patient email is owed"
    );
}

async fn email_states_reads_each_bookings_emails_and_nothing_else(backend: Backend) {
    use frontdesk_shared::notify::Delivery;
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let first = booked(&app, 96).await;
    app.clock.advance(Duration::seconds(1));
    let second = booked(&app, 97).await;
    let now = app.clock.now();
    let token = ClaimToken::new();
    ledger
        .claim(
            &first,
            Notice::Staff,
            &token,
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    ledger
        .mark_sent(&first, Notice::Staff, "m-1", now)
        .await
        .unwrap();
    ledger
        .record_delivery(
            &first,
            Notice::Staff,
            "m-1",
            Delivery::Bounced,
            Some("Permanent/General"),
            now,
        )
        .await
        .unwrap();
    ledger
        .claim(
            &second,
            Notice::Patient,
            &token,
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    ledger
        .hold(
            &second,
            Notice::Patient,
            &token,
            "SendingPausedException",
            now,
        )
        .await
        .unwrap();

    let states = ledger
        .email_states(now - Duration::days(1), now)
        .await
        .unwrap();
    let references: Vec<&Reference> = states.iter().map(|s| &s.reference).collect();
    assert_eq!(references, [&first, &second], "oldest first");
    assert_eq!(states[0].staff.delivery.as_deref(), Some("bounced"));
    assert_eq!(
        states[0].staff.delivery_detail.as_deref(),
        Some("Permanent/General")
    );
    assert_eq!(states[0].staff.message_id.as_deref(), Some("m-1"));
    assert_eq!(states[0].patient, Default::default());
    assert_eq!(
        states[1].patient.held.as_deref(),
        Some("SendingPausedException")
    );
    // Only bookings received since the cut, and within their retention.
    assert!(ledger
        .email_states(now + Duration::seconds(1), now)
        .await
        .unwrap()
        .is_empty());
    let later = now + Duration::days(400);
    assert!(ledger
        .email_states(now - Duration::days(1), later)
        .await
        .unwrap()
        .is_empty());
}

for_each_backend!(
    claims_exclude_each_other_until_they_expire,
    marks_settle_an_email,
    a_missing_booking_is_never_claimed,
    notify_sends_each_email_once,
    owed_lists_bookings_with_an_unsettled_email,
    a_held_email_stays_owed_until_it_is_sent,
    the_sweep_reads_old_bookings_and_skips_unreadable_ones,
    delivery_only_moves_forward_and_only_for_the_sent_message,
    staff_undelivered_lists_bad_and_late_staff_emails_until_their_fallback_settles,
    email_states_reads_each_bookings_emails_and_nothing_else,
    both_emails_are_claimed_and_marked_together_and_each_refusal_stands,
);

async fn both_emails_are_claimed_and_marked_together_and_each_refusal_stands(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ledger = app.store.ledger();
    let now = app.clock.now();
    let until = now + Duration::minutes(2);
    let both = Notice::ALL;

    // Both free: both claimed, by the one token, and both marked at once.
    let reference = booked(&app, 1).await;
    let token = ClaimToken::new();
    assert_eq!(
        ledger
            .claim_each(&reference, &both, &token, now, until)
            .await
            .unwrap(),
        [Claim::Claimed, Claim::Claimed]
    );
    for notice in both {
        let state = ledger.state(&reference, notice).await.unwrap().unwrap();
        assert_eq!(
            state.claimed_until,
            Some(until.unix_timestamp()),
            "{notice}"
        );
    }
    assert!(matches!(
        ledger
            .claim_each(&reference, &both, &ClaimToken::new(), now, until)
            .await
            .unwrap()[..],
        [Claim::HeldElsewhere { .. }, Claim::HeldElsewhere { .. }]
    ));
    ledger
        .mark_each_sent(
            &reference,
            &[
                (Notice::Staff, "m-staff".to_owned()),
                (Notice::Patient, "m-patient".to_owned()),
            ],
            now,
        )
        .await
        .unwrap();
    for (notice, id) in [(Notice::Staff, "m-staff"), (Notice::Patient, "m-patient")] {
        let state = ledger.state(&reference, notice).await.unwrap().unwrap();
        assert_eq!(state.message_id.as_deref(), Some(id));
        assert_eq!(state.claimed_until, None, "{notice}: the claim ends");
    }
    assert_eq!(
        ledger
            .claim_each(&reference, &both, &ClaimToken::new(), now, until)
            .await
            .unwrap(),
        [Claim::AlreadySent, Claim::AlreadySent]
    );

    // One sent before, the other failed before, or claimed elsewhere: that
    // one stays as it is, and the other is still claimed.
    let sent_staff = booked(&app, 2).await;
    settle_sent(&ledger, &sent_staff, Notice::Staff, "m-1", now).await;
    assert_eq!(
        ledger
            .claim_each(&sent_staff, &both, &ClaimToken::new(), now, until)
            .await
            .unwrap(),
        [Claim::AlreadySent, Claim::Claimed]
    );
    let failed_patient = booked(&app, 3).await;
    settle_failed(&ledger, &failed_patient, Notice::Patient, "Refused", now).await;
    assert_eq!(
        ledger
            .claim_each(&failed_patient, &both, &ClaimToken::new(), now, until)
            .await
            .unwrap(),
        [
            Claim::Claimed,
            Claim::AlreadyFailed {
                code: "Refused".into()
            }
        ]
    );
    let held_staff = booked(&app, 4).await;
    let elsewhere = ClaimToken::new();
    ledger
        .claim(&held_staff, Notice::Staff, &elsewhere, now, until)
        .await
        .unwrap();
    let claims = ledger
        .claim_each(&held_staff, &both, &ClaimToken::new(), now, until)
        .await
        .unwrap();
    assert!(
        matches!(claims[..], [Claim::HeldElsewhere { .. }, Claim::Claimed]),
        "{claims:?}"
    );
    // A mark of one alone leaves the other's claim as it was.
    ledger
        .mark_each_sent(&held_staff, &[(Notice::Patient, "m-2".to_owned())], now)
        .await
        .unwrap();
    let staff = ledger
        .state(&held_staff, Notice::Staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(staff.sent_at, None);
    assert_eq!(staff.claimed_until, Some(until.unix_timestamp()));

    // Both held under the one token: releasing with it frees each.
    let released = booked(&app, 5).await;
    let token = ClaimToken::new();
    ledger
        .claim_each(&released, &both, &token, now, until)
        .await
        .unwrap();
    for notice in both {
        ledger.release(&released, notice, &token).await.unwrap();
        let state = ledger.state(&released, notice).await.unwrap().unwrap();
        assert_eq!(state.claimed_until, None, "{notice}: the token held it");
    }
    // A claim elsewhere that has lapsed is no obstacle to claiming both.
    let lapsed = booked(&app, 6).await;
    ledger
        .claim(&lapsed, Notice::Staff, &ClaimToken::new(), now, until)
        .await
        .unwrap();
    let later = until + Duration::seconds(1);
    assert_eq!(
        ledger
            .claim_each(
                &lapsed,
                &both,
                &ClaimToken::new(),
                later,
                later + Duration::minutes(2)
            )
            .await
            .unwrap(),
        [Claim::Claimed, Claim::Claimed]
    );

    // No booking: neither is claimed.
    let missing = Reference::parse("CCL-AAAA-2222").unwrap();
    assert_eq!(
        ledger
            .claim_each(&missing, &both, &ClaimToken::new(), now, until)
            .await
            .unwrap(),
        [Claim::NoBooking, Claim::NoBooking]
    );
}
