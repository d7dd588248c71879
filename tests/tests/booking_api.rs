//! `POST /v1/bookings` end to end through the real router, against DynamoDB
//! Local and against the embedded store.

use frontdesk_tests::{
    booking_with, for_each_backend, nth_booking, valid_booking, valid_form, Backend, TestApp,
};
use serde_json::{json, Value};
use std::net::IpAddr;

for_each_backend!(
    a_valid_json_booking_is_stored_with_every_field,
    a_plain_form_booking_redirects_to_the_thank_you_page,
    a_plain_form_with_errors_goes_back_to_the_form,
    a_plain_form_sends_the_date_of_birth_as_day_month_and_year,
    each_invalid_field_alone_is_named,
    hostile_bodies_get_a_4xx_and_store_nothing,
    one_idempotency_key_sent_concurrently_makes_one_booking,
    a_key_reused_with_another_body_is_refused,
    the_key_may_come_as_a_hidden_field,
    a_keyless_request_is_answered_alike_new_or_repeated_and_stored_once,
    a_new_key_with_the_same_details_gets_its_own_reference_linked_to_the_first,
    a_request_without_a_source_address_is_refused,
    no_guard_holds_a_submitted_value_or_its_plain_hash,
    duplicates_are_new_bookings_after_the_window,
    the_source_over_its_hourly_limit_is_told_when_to_retry,
    a_zero_rate_limit_turns_limiting_off,
    a_filled_honeypot_looks_accepted_and_stores_nothing,
    other_methods_and_paths_get_problems,
    cors_allows_the_configured_origins_only,
    a_booking_from_a_foreign_page_is_refused_and_changes_nothing,
    null_and_missing_origins_are_taken_only_when_a_setting_says_so,
    a_page_that_did_not_fill_in_its_key_is_sent_back_and_stores_nothing,
);

fn is_reference(value: &str) -> bool {
    value.len() == 13
        && value.starts_with("CCL-")
        && value.as_bytes()[8] == b'-'
        && value[4..]
            .bytes()
            .all(|b| b == b'-' || b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
}

async fn a_valid_json_booking_is_stored_with_every_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.store.requests();

    let response = app.post_json(&valid_booking()).await;

    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let body = response.json();
    let reference = body["reference"].as_str().expect("reference");
    assert!(is_reference(reference), "{reference}");
    assert_eq!(body["status"], "received");
    assert!(body["received_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(response.header("idempotent-replayed"), None);
    assert_eq!(app.store.count().await, 1);
    if let Some(before) = before {
        assert_eq!(
            app.store.requests(),
            Some(before + 2),
            "one transaction, and the put of its opt-in to news by email"
        );
    }

    let record = app.store.record(reference).await.expect("stored");
    assert_eq!(record.reference, reference);
    assert_eq!(record.first_name, "Fixture");
    assert_eq!(record.last_name, "Patient");
    assert_eq!(record.email, "fixture.patient@example.com");
    assert_eq!(record.phone, "+447700900123");
    assert_eq!(record.date_of_birth, "1970-03-31");
    assert_eq!(record.specialty, "neuroendocrine-tumours");
    assert_eq!(record.consultant.as_deref(), Some("fixture-consultant"));
    assert_eq!(record.payment, "insured");
    assert_eq!(record.insurer.as_deref(), Some("Fixture Insurance"));
    assert_eq!(record.policy_number.as_deref(), Some("FX-123456"));
    assert!(record.gp_referral);
    assert_eq!(record.contact_method, "email");
    assert_eq!(record.preferred_times.as_deref(), Some("Weekday mornings"));
    assert_eq!(
        record.message.as_deref(),
        Some("Fixture message: please call after 10am.")
    );
    assert_eq!(record.booking_for, "self");
    assert!(record.consent_contact);
    assert_eq!(record.consent_version, "2026-11");
    assert_eq!(record.consent_given_at, record.received_at);
    assert_eq!(record.received_at, body["received_at"].as_str().unwrap());
    assert!(record.marketing_email);
    assert!(!record.marketing_sms);
    let retention = i64::from(app.config.retention_days) * 86_400;
    assert_eq!(
        record.expires_at,
        app.clock.now().unix_timestamp() + retention
    );

    // And it reads back through the port into domain types.
    let booking = app.booking(reference).await.expect("readable");
    assert_eq!(booking.details.phone.national(), "07700 900123");
}

async fn a_plain_form_booking_redirects_to_the_thank_you_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The page's key comes as a hidden field: the thank-you page gets the reference.
    let response = app
        .post(
            "application/x-www-form-urlencoded",
            format!("{}&idempotency_key=page-key-1", valid_form()),
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(response.status, 303);
    let location = response.header("location").expect("location");
    let reference = location
        .strip_prefix("/thank-you?reference=")
        .expect(location);
    assert!(is_reference(reference), "{location}");
    let record = app.store.record(reference).await.expect("stored");
    assert_eq!(record.phone, "+447700900123");
    assert!(record.gp_referral && record.marketing_email && !record.marketing_sms);

    // The same request as JSON with the same key is the same booking: the encodings agree.
    let json = app.post_json_with_key(&valid_booking(), "page-key-1").await;
    assert_eq!(json.status, 201);
    assert_eq!(json.json()["reference"], reference);
    assert_eq!(app.store.count().await, 1);

    // A form without a key goes to the thank-you page without a reference
    // (and, repeating the keyed one, stores nothing new).
    let keyless = app
        .post(
            "application/x-www-form-urlencoded",
            valid_form(),
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(keyless.status, 303);
    assert_eq!(keyless.header("location"), Some("/thank-you"));
    assert_eq!(app.store.count().await, 1);
}

async fn a_plain_form_with_errors_goes_back_to_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = valid_form()
        .replace("email=fixture.patient%40example.com", "email=nope")
        .replace("&consent_contact=on", "");
    let response = app
        .post("application/x-www-form-urlencoded", form.clone(), &[])
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(
        response.header("location"),
        Some("/book?errors=email,consent_contact")
    );
    assert_eq!(app.store.count().await, 0);

    // A script posting the form encoding and asking for JSON gets the problem itself.
    let response = app
        .post(
            "application/x-www-form-urlencoded",
            form,
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error_fields(), ["email", "consent_contact"]);
}

async fn a_plain_form_sends_the_date_of_birth_as_day_month_and_year(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let with = |parts: &str| valid_form().replace("date_of_birth=1970-03-31", parts);
    let response = app
        .post(
            "application/x-www-form-urlencoded",
            with(&format!(
                "date_of_birth_day=31&date_of_birth_month=3&date_of_birth_year=1970&idempotency_key={}",
                frontdesk_tests::fresh_key()
            )),
            &[],
        )
        .await;
    assert_eq!(response.status, 303);
    let location = response.header("location").unwrap().to_owned();
    let reference = location.split("reference=").nth(1).expect("a reference");
    let booking = app.booking(reference).await.expect("stored");
    assert_eq!(booking.details.date_of_birth.to_string(), "1970-03-31");

    // A wrong part is named, and nothing is stored.
    for (parts, named) in [
        (
            "date_of_birth_day=31&date_of_birth_month=31&date_of_birth_year=1970",
            "date_of_birth_month",
        ),
        (
            "date_of_birth_day=31&date_of_birth_month=4&date_of_birth_year=1970",
            "date_of_birth",
        ),
        (
            "date_of_birth_day=&date_of_birth_month=4&date_of_birth_year=1970",
            "date_of_birth_day",
        ),
    ] {
        let response = app
            .post("application/x-www-form-urlencoded", with(parts), &[])
            .await;
        assert_eq!(response.status, 303, "{parts}");
        assert_eq!(
            response.header("location"),
            Some(format!("/book?errors={named}").as_str()),
            "{parts}"
        );
    }
    assert_eq!(app.store.count().await, 1);
}

async fn each_invalid_field_alone_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.store.requests();
    let cases: Vec<(&str, Value)> = vec![
        ("first_name", json!("")),
        ("first_name", json!("Ann\r\nBcc: someone@example.com")),
        ("first_name", json!(42)),
        ("last_name", Value::Null),
        ("last_name", json!("a".repeat(101))),
        ("email", json!("not-an-email")),
        ("email", json!("fixture@localhost")),
        ("phone", json!("12345")),
        ("phone", json!("+1 202 555 0100")),
        ("date_of_birth", json!("2999-01-01")),
        ("date_of_birth", json!("31/03/1970")),
        ("specialty", json!("cardiology")),
        ("specialty", Value::Null),
        ("consultant", json!("Not A Slug")),
        ("payment", json!("cash")),
        ("insurer", Value::Null),
        ("policy_number", json!("<b>1</b>")),
        ("gp_referral", json!("maybe")),
        ("contact_method", json!("fax")),
        ("preferred_times", json!("x".repeat(201))),
        ("message", json!("x".repeat(2001))),
        ("message", json!("hello\u{0}world")),
        ("booking_for", json!("neighbour")),
        ("consent_contact", json!(false)),
        ("consent_contact", Value::Null),
        ("consent_version", Value::Null),
        ("marketing_email", json!("sometimes")),
        ("marketing_sms", json!(5)),
        ("idempotency_key", json!("k".repeat(129))),
        ("favourite_colour", json!("blue")),
    ];
    for (field, value) in cases {
        let response = app.post_json(&booking_with(field, value.clone())).await;
        assert_eq!(response.status, 422, "{field} = {value}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(response.error_fields(), [field], "{field} = {value}");
        let problem = response.json();
        assert_eq!(problem["status"], 422);
        assert!(problem["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10));
    }
    assert_eq!(app.store.count().await, 0);
    assert_eq!(
        app.store.requests(),
        before,
        "a rejected request costs no DynamoDB request"
    );
}

/// A hostile request: its name, content type, body, extra headers and the status it must get.
type Hostile<'a> = (&'a str, &'a str, Vec<u8>, &'a [(&'a str, &'a str)], u16);

async fn hostile_bodies_get_a_4xx_and_store_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.store.requests();
    let json_type = "application/json";
    let form_type = "application/x-www-form-urlencoded";
    let mut deep = String::new();
    for _ in 0..5000 {
        deep.push('[');
    }
    let deep = format!("{{\"first_name\": {deep}}}");
    let many_keys = format!(
        "{{{}}}",
        (0..1000)
            .map(|i| format!("\"k{i}\":1"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let all_wrong_types = json!({
        "first_name": 1, "last_name": [], "email": {}, "phone": 7700900123u64, "date_of_birth": 19700331,
        "specialty": true, "payment": null, "gp_referral": "yes please", "consent_contact": "true!"
    });
    let cases: Vec<Hostile> = vec![
        ("empty body", json_type, vec![], &[], 400),
        ("null", json_type, b"null".to_vec(), &[], 400),
        ("array", json_type, b"[]".to_vec(), &[], 400),
        ("string", json_type, b"\"hello\"".to_vec(), &[], 400),
        (
            "truncated",
            json_type,
            b"{\"first_name\": \"Ann\"".to_vec(),
            &[],
            400,
        ),
        ("trailing garbage", json_type, b"{} {}".to_vec(), &[], 400),
        (
            "invalid UTF-8 JSON",
            json_type,
            b"{\"first_name\": \"\xff\xfe\"}".to_vec(),
            &[],
            400,
        ),
        (
            "invalid UTF-8 form",
            form_type,
            b"first_name=%ff%fe".to_vec(),
            &[],
            400,
        ),
        (
            "duplicate JSON keys",
            json_type,
            br#"{"email":"a@example.com","email":"b@example.com"}"#.to_vec(),
            &[],
            400,
        ),
        (
            "duplicate form keys",
            form_type,
            b"email=a%40example.com&email=b%40example.com".to_vec(),
            &[],
            400,
        ),
        ("deep nesting", json_type, deep.into_bytes(), &[], 400),
        (
            "over 16 KiB",
            json_type,
            format!("{{\"message\": \"{}\"}}", "x".repeat(17 * 1024)).into_bytes(),
            &[],
            413,
        ),
        (
            "text/plain",
            "text/plain",
            valid_booking().to_string().into_bytes(),
            &[],
            415,
        ),
        (
            "no content type",
            "",
            valid_booking().to_string().into_bytes(),
            &[],
            415,
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            b"--x--".to_vec(),
            &[],
            415,
        ),
        (
            "wrong types",
            json_type,
            all_wrong_types.to_string().into_bytes(),
            &[],
            422,
        ),
        (
            "huge name",
            json_type,
            booking_with("first_name", json!("A".repeat(15_000)))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
        (
            "CR/LF in last name",
            json_type,
            booking_with("last_name", json!("Patient\r\nBcc: x@example.com"))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
        (
            "bidi override",
            json_type,
            booking_with("last_name", json!("Patient\u{202e}"))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
        (
            "object as email",
            json_type,
            booking_with("email", json!({"$ne": ""}))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
        (
            "prototype key",
            json_type,
            booking_with("__proto__", json!({"admin": true}))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
        (
            "a thousand keys",
            json_type,
            many_keys.into_bytes(),
            &[],
            422,
        ),
        (
            "control character key",
            json_type,
            valid_booking().to_string().into_bytes(),
            &[("idempotency-key", "a\tb")],
            422,
        ),
        (
            "script in a name",
            json_type,
            booking_with("first_name", json!("<script>alert(1)</script>"))
                .to_string()
                .into_bytes(),
            &[],
            422,
        ),
    ];
    assert!(cases.len() >= 20);
    for (name, content_type, body, headers, want) in cases {
        let response = app.post(content_type, body, headers).await;
        assert_eq!(
            response.status.as_u16(),
            want,
            "{name}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{name}"
        );
        assert!(
            !String::from_utf8_lossy(&response.body).contains("panicked"),
            "{name}"
        );
    }
    assert_eq!(app.store.count().await, 0);
    assert_eq!(
        app.store.requests(),
        before,
        "a rejected request costs no DynamoDB request"
    );
}

async fn one_idempotency_key_sent_concurrently_makes_one_booking(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(backend).await);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post_json_with_key(&valid_booking(), "7b0c1a52-8f7e-4a51-9d55-8a2a6f0c9e11")
                    .await
            })
        })
        .collect();
    let mut references = Vec::new();
    let mut replayed = 0;
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(
            response.status,
            201,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        if response.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
        references.push(
            response.json()["reference"]
                .as_str()
                .expect("reference")
                .to_owned(),
        );
    }
    assert_eq!(app.store.count().await, 1);
    assert!(
        references.iter().all(|r| r == &references[0]),
        "{references:?}"
    );
    assert_eq!(replayed, 19);
}

async fn a_key_reused_with_another_body_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.post_json_with_key(&valid_booking(), "key-1").await;
    assert_eq!(first.status, 201);
    let replay = app.post_json_with_key(&valid_booking(), "key-1").await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        replay.json(),
        first.json(),
        "a replay repeats the first answer"
    );

    let other = app.post_json_with_key(&nth_booking(2), "key-1").await;
    assert_eq!(other.status, 409, "the key belongs to the first request");
    assert_eq!(other.error_fields(), ["idempotency_key"]);
    assert_eq!(app.store.count().await, 1);
}

async fn the_key_may_come_as_a_hidden_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = format!("{}&idempotency_key=form-key-1", valid_form());
    let first = app
        .post("application/x-www-form-urlencoded", form.clone(), &[])
        .await;
    let again = app
        .post("application/x-www-form-urlencoded", form, &[])
        .await;
    assert_eq!(first.status, 303);
    assert_eq!(first.header("location"), again.header("location"));
    // The header and the field must agree when both are sent.
    let mismatch = app
        .post(
            "application/json",
            booking_with("idempotency_key", json!("a")).to_string(),
            &[("idempotency-key", "b")],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert_eq!(mismatch.error_fields(), ["idempotency_key"]);
    assert_eq!(app.store.count().await, 1);
    // Agreeing, they are one key, and the booking is stored.
    let mut body = nth_booking(2);
    body["idempotency_key"] = json!("key-both");
    let agreeing = app
        .post(
            "application/json",
            body.to_string(),
            &[("idempotency-key", "key-both")],
        )
        .await;
    assert_eq!(agreeing.status, 201);
    assert_eq!(app.store.count().await, 2);
}

async fn a_keyless_request_is_answered_alike_new_or_repeated_and_stored_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.post_json_keyless(&valid_booking()).await;
    // Spacing, case of the email's domain and field order do not make it
    // new, and nor does another address sending it.
    let mut body = valid_booking();
    body["email"] = json!("fixture.patient@EXAMPLE.com");
    body["first_name"] = json!("  Fixture ");
    let other: IpAddr = "198.51.100.7".parse().unwrap();
    let second = app
        .post_from("application/json", body.to_string(), &[], other)
        .await;
    for answer in [&first, &second] {
        assert_eq!(answer.status, 202);
        assert_eq!(answer.json(), json!({ "status": "received" }));
    }
    assert_eq!(
        first.headers, second.headers,
        "the headers do not tell either"
    );
    assert_eq!(first.body, second.body);
    assert_eq!(app.store.count().await, 1);
    // A different request is a different booking, answered the same way.
    let third = app.post_json_keyless(&nth_booking(3)).await;
    assert_eq!(third.headers, first.headers);
    assert_eq!(third.body, first.body);
    assert_eq!(app.store.count().await, 2);
}

async fn a_new_key_with_the_same_details_gets_its_own_reference_linked_to_the_first(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let first = app.post_json_with_key(&valid_booking(), "page-1").await;
    let second = app.post_json_with_key(&valid_booking(), "page-2").await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    let (a, b) = (first.json(), second.json());
    assert_ne!(a["reference"], b["reference"]);
    assert_eq!(second.header("idempotent-replayed"), None);
    let earlier = a["reference"].as_str().unwrap();
    assert!(
        !String::from_utf8_lossy(&second.body).contains(earlier),
        "the second answer says nothing of the first"
    );
    assert_eq!(app.store.count().await, 2);
    let staff = frontdesk_shared::desk::Staff {
        subject: "fixture-staff".into(),
        email: frontdesk_shared::booking::Email::parse("staff@clinic.example").unwrap(),
    };
    let later =
        frontdesk_shared::booking::Reference::parse(b["reference"].as_str().unwrap()).unwrap();
    let seen = app
        .store
        .desk(&app.clock)
        .open(&later, &staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.repeat_of.as_ref().map(|r| r.as_str()), Some(earlier));
    // Each key replays its own answer.
    let again = app.post_json_with_key(&valid_booking(), "page-2").await;
    assert_eq!(again.json()["reference"], b["reference"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

async fn no_guard_holds_a_submitted_value_or_its_plain_hash(backend: Backend) {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn(backend).await;
    let keyed = valid_booking();
    let keyless = nth_booking(2);
    let v6: IpAddr = "2001:db8:1:2::7".parse().unwrap();
    assert_eq!(
        app.post_json_with_key(&keyed, "my-own-key").await.status,
        201
    );
    let answer = app
        .post_from("application/json", keyless.to_string(), &[], v6)
        .await;
    assert_eq!(answer.status, 202);
    let mut submitted: Vec<String> = vec![
        "my-own-key".into(),
        IpAddr::from(frontdesk_tests::CLIENT).to_string(),
        v6.to_string(),
        "2001:db8:1:2::/64".into(),
    ];
    for body in [&keyed, &keyless] {
        for field in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "insurer",
            "policy_number",
            "preferred_times",
            "message",
        ] {
            if let Some(Value::String(s)) = body.get(field) {
                submitted.push(s.clone());
            }
        }
        submitted.push(body.to_string());
    }
    let hashes: Vec<String> = submitted
        .iter()
        .map(|v| hex::encode(Sha256::digest(v.as_bytes())))
        .collect();
    let guards = app.store.guard_values().await;
    assert!(
        guards.len() >= 6,
        "an idempotency, two fingerprints and rate counters: {guards:?}"
    );
    for item in &guards {
        for value in item {
            for plain in &submitted {
                assert!(!value.contains(plain.as_str()), "{value:?} holds {plain:?}");
            }
            for hash in &hashes {
                assert!(
                    !value.contains(&hash[..16]) && !value.contains(&hash[48..]),
                    "{value:?} holds a plain hash"
                );
            }
        }
    }
}

async fn a_request_without_a_source_address_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_without_source(&valid_booking()).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["type"], "urn:frontdesk:problem:no-source");
    assert_eq!(app.store.count().await, 0);
}

async fn duplicates_are_new_bookings_after_the_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.post_json_with_key(&valid_booking(), "key-window").await;
    app.clock.advance(time::Duration::hours(25));
    let later = app.post_json_with_key(&valid_booking(), "key-window").await;
    assert_eq!(later.status, 201);
    assert_eq!(later.header("idempotent-replayed"), None);
    assert_ne!(first.json()["reference"], later.json()["reference"]);
    assert_eq!(app.store.count().await, 2);
}

async fn the_source_over_its_hourly_limit_is_told_when_to_retry(backend: Backend) {
    let app = TestApp::with_env(backend, &[("RATE_LIMIT_PER_HOUR", "3")]).await;
    assert_eq!(
        app.post_json_with_key(&nth_booking(0), "first-key")
            .await
            .status,
        201
    );
    for n in 1..3 {
        assert_eq!(app.post_json(&nth_booking(n)).await.status, 201);
    }
    let before = app.store.requests();
    let limited = app.post_json(&nth_booking(3)).await;
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        retry_after,
        50 * 60,
        "the test clock sits ten minutes into the hour"
    );
    assert_eq!(limited.json()["status"], 429);
    if let Some(before) = before {
        assert_eq!(app.store.requests(), Some(before + 1));
    }
    // A replay of an accepted booking, to its own key, is still answered.
    assert_eq!(
        app.post_json_with_key(&nth_booking(0), "first-key")
            .await
            .status,
        201
    );
    // Anything else is refused, whether or not its body was seen before.
    for (n, keyed) in [(1, false), (1, true), (7, false), (7, true)] {
        let answer = if keyed {
            app.post_json(&nth_booking(n)).await
        } else {
            app.post_json_keyless(&nth_booking(n)).await
        };
        assert_eq!(answer.status, 429, "booking {n}, keyed {keyed}");
    }
    // A patient's plain form goes back to the form, which says to try later or call.
    let form = app
        .post(
            "application/x-www-form-urlencoded",
            format!("{}&idempotency_key=page-key-late", valid_form()),
            &[],
        )
        .await;
    assert_eq!(form.status, 303);
    assert_eq!(form.header("location"), Some("/book?errors=not_taken"));
    // Another source has its own allowance; the windows end on the hour.
    let other: IpAddr = "198.51.100.7".parse().unwrap();
    let response = app
        .post_from("application/json", nth_booking(4).to_string(), &[], other)
        .await;
    assert_eq!(response.status, 202);
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(app.post_json(&nth_booking(5)).await.status, 201);
    assert_eq!(app.store.count().await, 5);
}

async fn a_zero_rate_limit_turns_limiting_off(backend: Backend) {
    let app = TestApp::with_env(backend, &[("RATE_LIMIT_PER_HOUR", "0")]).await;
    for n in 0..12 {
        assert_eq!(app.post_json(&nth_booking(n)).await.status, 201);
    }
    assert_eq!(app.store.count().await, 12);
}

async fn a_filled_honeypot_looks_accepted_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.store.requests();
    let response = app
        .post_json(&booking_with("website", json!("http://spam.example")))
        .await;
    assert_eq!(response.status, 201);
    assert!(is_reference(response.json()["reference"].as_str().unwrap()));
    let keyless = app
        .post_json_keyless(&booking_with("website", json!("http://spam.example")))
        .await;
    assert_eq!(keyless.status, 202);
    assert_eq!(keyless.json(), json!({ "status": "received" }));
    let form = valid_form().replace("website=", "website=spam");
    let response = app
        .post("application/x-www-form-urlencoded", form, &[])
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(app.store.count().await, 0);
    assert_eq!(app.store.requests(), before);

    // It is checked like any other request first: the rules are public.
    let invalid = app
        .post_json(&json!({"website": "http://spam.example", "email": "nope"}))
        .await;
    assert_eq!(invalid.status, 422);
    assert_eq!(app.store.count().await, 0);
}

async fn other_methods_and_paths_get_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let from = IpAddr::from(frontdesk_tests::CLIENT);
    let get = axum::http::Request::get("/v1/bookings")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.send_from(get, from).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let missing = axum::http::Request::post("/v1/nothing")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.send_from(missing, from).await;
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["status"], 404);
}

async fn cors_allows_the_configured_origins_only(backend: Backend) {
    let app = TestApp::with_env(
        backend,
        &[("ALLOWED_ORIGINS", "https://www.clinic.example")],
    )
    .await;
    let from = IpAddr::from(frontdesk_tests::CLIENT);
    let preflight = |origin: &str| {
        axum::http::Request::options("/v1/bookings")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,idempotency-key",
            )
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = app
        .send_from(preflight("https://www.clinic.example"), from)
        .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://www.clinic.example")
    );
    assert!(allowed
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("idempotency-key")));
    let refused = app.send_from(preflight("https://evil.example"), from).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
    let posted = app
        .post(
            "application/json",
            valid_booking().to_string(),
            &[("origin", "https://www.clinic.example")],
        )
        .await;
    assert_eq!(
        posted.header("access-control-allow-origin"),
        Some("https://www.clinic.example")
    );
    assert!(posted
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("idempotent-replayed")));
}

async fn a_booking_from_a_foreign_page_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::with_env(
        backend,
        &[("ALLOWED_ORIGINS", "https://www.clinic.example")],
    )
    .await;
    let before = app.store.requests();
    let form = format!("{}&idempotency_key=page-key-9", valid_form());
    for (media, body) in [
        ("application/json", valid_booking().to_string()),
        ("application/x-www-form-urlencoded", form.clone()),
    ] {
        for headers in [
            vec![("origin", "https://evil.example")],
            vec![("origin", "https://www.clinic.example.evil.example")],
            vec![("referer", "https://evil.example/book")],
        ] {
            let mut headers = headers;
            headers.push(("idempotency-key", "page-key-9"));
            let refused = app.post(media, body.clone(), &headers).await;
            assert_eq!(refused.status, 403, "{media} {headers:?}");
            assert_eq!(
                refused.header("content-type"),
                Some("application/problem+json")
            );
            assert_eq!(
                refused.json()["type"],
                "urn:frontdesk:problem:foreign-origin"
            );
            assert!(refused.header("location").is_none());
        }
    }
    assert_eq!(app.store.count().await, 0);
    assert_eq!(app.store.requests(), before, "no store call at all");
    // From the clinic's own page, by script and by form, it is taken.
    let script = app
        .post(
            "application/json",
            valid_booking().to_string(),
            &[
                ("origin", "https://www.clinic.example"),
                ("idempotency-key", "script-key-1"),
            ],
        )
        .await;
    assert_eq!(script.status, 201);
    let plain = app
        .post(
            "application/x-www-form-urlencoded",
            format!("{}&idempotency_key=page-key-2", nth_form_body(2)),
            &[("referer", "https://www.clinic.example/book")],
        )
        .await;
    assert_eq!(
        plain.status,
        303,
        "{}",
        String::from_utf8_lossy(&plain.body)
    );
    assert!(plain
        .header("location")
        .is_some_and(|l| l.contains("reference=")));
    assert_eq!(app.store.count().await, 2);
}

/// A form body of `nth_booking(n)`'s answers.
fn nth_form_body(n: usize) -> String {
    let body = nth_booking(n);
    body.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(true) => "yes".into(),
                Value::Bool(false) => "no".into(),
                other => other.to_string(),
            };
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn null_and_missing_origins_are_taken_only_when_a_setting_says_so(backend: Backend) {
    let from = IpAddr::from(frontdesk_tests::CLIENT);
    let strict = TestApp::spawn(backend).await;
    let null = [("origin", "null"), ("idempotency-key", "null-key")];
    let bare = [("idempotency-key", "bare-key")];
    let body = || valid_booking().to_string();
    assert_eq!(
        strict
            .post_exactly("application/json", body(), &null, from)
            .await
            .status,
        403
    );
    assert_eq!(
        strict
            .post_exactly("application/json", body(), &bare, from)
            .await
            .status,
        403
    );
    assert_eq!(strict.store.count().await, 0);

    let lenient = TestApp::with_env(
        backend,
        &[
            ("ALLOW_NULL_ORIGIN", "true"),
            ("ALLOW_CALLS_WITHOUT_ORIGIN", "true"),
        ],
    )
    .await;
    assert_eq!(
        lenient
            .post_exactly("application/json", body(), &null, from)
            .await
            .status,
        201
    );
    assert_eq!(
        lenient
            .post_exactly("application/json", nth_booking(3).to_string(), &bare, from)
            .await
            .status,
        201
    );
    // A foreign page is still refused.
    assert_eq!(
        lenient
            .post_exactly(
                "application/json",
                nth_booking(4).to_string(),
                &[("origin", "https://evil.example")],
                from
            )
            .await
            .status,
        403
    );
    assert_eq!(lenient.store.count().await, 2);
}

async fn a_page_that_did_not_fill_in_its_key_is_sent_back_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Every patient of such a page would send this same key.
    let form = format!(
        "{}&idempotency_key=%7B%7Bidempotency_key%7D%7D",
        valid_form()
    );
    let back = app
        .post("application/x-www-form-urlencoded", form, &[])
        .await;
    assert_eq!(back.status, 303);
    assert_eq!(
        back.header("location"),
        Some("/book?errors=idempotency_key")
    );
    let script = app
        .post_json_with_key(&valid_booking(), "{{idempotency_key}}")
        .await;
    assert_eq!(script.status, 422);
    assert_eq!(script.error_fields(), ["idempotency_key"]);
    assert_eq!(app.store.count().await, 0);
}
