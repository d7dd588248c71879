//! The subject access export, on both stores: a person's bookings found by
//! their email or phone, each with its emails' states, consents, the
//! clinic's handling and notes and its audit trail; nothing of another
//! person with the same name; a booking made for someone else without
//! that person's part; the document valid against its checked-in schema;
//! the page escaping what was typed; every booking's export on the trail.

use frontdesk_shared::booking::{Email, Reference, Slug};
use frontdesk_shared::desk::{
    Appointment, AuditAction, Move, Note, Place, RequestState, Staff, Step,
};
use frontdesk_shared::notify::{ClaimToken, Delivery, Notice};
use frontdesk_shared::rights::{export, Holdings, SubjectQuery};
use frontdesk_shared::store::InsertOutcome;
use frontdesk_tests::{
    booking_at, for_each_backend, match_key, plain_insert, valid_booking, Backend, StoreHandle,
    TestClock,
};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

for_each_backend!(
    an_export_holds_a_persons_bookings_and_nothing_of_anyone_else,
    nobody_found_is_an_empty_export_that_says_so,
);

const SCHEMA: &str = include_str!("../../docs/subject-export.schema.json");

fn schema_errors(instance: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("docs/subject-export.schema.json is not a schema: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn admin() -> Staff {
    Staff {
        subject: "frontdesk-cli".into(),
        email: Email::parse("lead@clinic.example").unwrap(),
    }
}

async fn store(store: &StoreHandle, body: &Value, at: OffsetDateTime) -> Reference {
    let booking = booking_at(body, at);
    let outcome = store
        .port()
        .insert(plain_insert(booking.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, InsertOutcome::Stored);
    booking.reference
}

fn person(first: &str, last: &str, email: &str, phone: &str) -> Value {
    let mut body = valid_booking();
    body["first_name"] = json!(first);
    body["last_name"] = json!(last);
    body["email"] = json!(email);
    body["phone"] = json!(phone);
    body
}

async fn an_export_holds_a_persons_bookings_and_nothing_of_anyone_else(backend: Backend) {
    let handle = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let now = clock.now();
    // Ann's first request, then a second from her phone with another
    // address, and one she made for her father; another Ann Smith's.
    let mut first_body = person("Ann", "Smith", "ann@example.com", "07700 900111");
    first_body["message"] = json!("<script>alert('ann')</script> worried about a scan");
    let first = store(&handle, &first_body, now).await;
    let second = store(
        &handle,
        &person("Ann", "Smith", "ann.work@example.com", "07700 900111"),
        now + Duration::days(2),
    )
    .await;
    let mut for_father = person("Albert", "Smith", "ANN@example.com", "07700 900999");
    for_father["booking_for"] = json!("someone_else");
    let father = store(&handle, &for_father, now + Duration::days(3)).await;
    let other = store(
        &handle,
        &person("Ann", "Smith", "another.ann@example.com", "07700 900222"),
        now,
    )
    .await;

    // The first went through the desk with a note, and its acknowledgement
    // was sent and delivered.
    let desk = handle.desk(&clock);
    let nurse = Staff {
        subject: "7d1c2e0a-nurse".into(),
        email: Email::parse("nurse@clinic.example").unwrap(),
    };
    let contacted = Step::new(
        now + Duration::hours(1),
        nurse.clone(),
        RequestState::New,
        Move::Contacted,
        Some(Note::parse("Called back, prefers mornings").unwrap()),
    )
    .unwrap();
    desk.change(&first, 0, &contacted).await.unwrap();
    let booked = Step::new(
        now + Duration::hours(2),
        nurse.clone(),
        RequestState::Contacted,
        Move::Booked(Appointment {
            at: now + Duration::days(9),
            place: Place::parse("Parkside Hospital").unwrap(),
            consultant: Some(Slug::parse("fixture-consultant").unwrap()),
        }),
        None,
    )
    .unwrap();
    desk.change(&first, 1, &booked).await.unwrap();
    // Her father's request was noted too: the note is about him.
    let noted = Step::new(
        now + Duration::days(3) + Duration::hours(1),
        nurse.clone(),
        RequestState::New,
        Move::Contacted,
        Some(Note::parse("Albert's scan results are due").unwrap()),
    )
    .unwrap();
    desk.change(&father, 0, &noted).await.unwrap();
    let ledger = handle.ledger();
    ledger
        .claim(
            &first,
            Notice::Patient,
            &ClaimToken::new(),
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    ledger
        .mark_sent(&first, Notice::Patient, "m-ann", now)
        .await
        .unwrap();
    ledger
        .record_delivery(
            &first,
            Notice::Patient,
            "m-ann",
            Delivery::Delivered,
            None,
            now,
        )
        .await
        .unwrap();

    clock.advance(Duration::days(4));
    let query = SubjectQuery::parse(Some(" Ann@Example.com "), Some("07700900111")).unwrap();
    let made = export(
        Holdings {
            index: handle.subjects().as_ref(),
            desk: desk.as_ref(),
            register: handle.marketing().as_ref(),
            wordings: &frontdesk_tests::content::shipped_model().consent,
        },
        &match_key(),
        &query,
        &admin(),
        clock.now(),
    )
    .await
    .unwrap();
    let json: Value = serde_json::from_str(&made.to_json().unwrap()).unwrap();
    assert_eq!(schema_errors(&json), Vec::<String>::new());

    let references: Vec<&str> = json["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        references,
        [first.as_str(), second.as_str(), father.as_str()],
        "hers, oldest first, and not the other Ann Smith's"
    );
    let text = json.to_string();
    assert!(!text.contains(other.as_str()) && !text.contains("another.ann"));

    let ann = &json["bookings"][0];
    assert_eq!(ann["matched_by"], json!(["email", "phone"]));
    assert_eq!(ann["role"], "booker_and_patient");
    assert_eq!(ann["patient"]["last_name"], "Smith");
    assert_eq!(ann["consent"]["version"], "2026-11");
    // The words the patient ticked, as the content publishes them, and the
    // fingerprint the booking kept of them.
    let shipped = frontdesk_tests::content::shipped_model();
    let wording = shipped.current_consent().unwrap();
    assert_eq!(ann["consent"]["wording_sha256"], wording.sha256.as_str());
    assert_eq!(
        ann["consent"]["wording"]["contact"],
        wording.contact.as_str()
    );
    assert_eq!(
        ann["consent"]["wording"]["marketing_sms"],
        wording.marketing_sms.as_str()
    );
    assert_eq!(ann["consent"]["marketing_email"], true);
    assert_eq!(ann["desk"]["state"], "booked");
    assert_eq!(
        ann["desk"]["history"][0]["note"],
        "Called back, prefers mornings"
    );
    assert_eq!(ann["desk"]["history"][1]["place"], "Parkside Hospital");
    let acknowledgement = ann["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "patient")
        .expect("the acknowledgement");
    assert_eq!(acknowledgement["delivery"], "delivered");
    assert!(
        !text.contains("nurse@clinic.example") && !text.contains("7d1c2e0a"),
        "staff identities are left out"
    );
    assert_eq!(json["bookings"][1]["matched_by"], json!(["phone"]));

    // Booked for her father: her part only.
    let booked_for = &json["bookings"][2];
    assert_eq!(booked_for["role"], "booker");
    assert_eq!(booked_for["patient"], Value::Null);
    assert_eq!(booked_for["desk"]["history"][0]["to"], "contacted");
    assert_eq!(booked_for["desk"]["history"][0]["note"], Value::Null);
    assert!(!text.contains("Albert"));

    // The page shows what was typed as text.
    let page = made.to_html().unwrap();
    assert!(
        page.contains("worried about a scan") && !page.contains("<script>"),
        "{page}"
    );
    assert!(page.contains(first.as_str()) && !page.contains("Albert"));

    // Each booking's export is on its trail, and nothing on the other's.
    for reference in [&first, &second, &father] {
        let trail = desk.of_request(reference, None, 20).await.unwrap().entries;
        assert!(
            trail
                .iter()
                .any(|e| e.action == AuditAction::Exported && e.by == admin()),
            "{reference}"
        );
    }
    // Her opt-ins to news by email, from the register, with the wording:
    // the address searched for (as she last gave it), and her work address
    // from the booking found by her phone, whose opt-in came with it.
    let mut addresses: Vec<&str> = json["marketing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["channel"], "email");
            m["address"].as_str().unwrap()
        })
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["ANN@example.com", "ann.work@example.com"]);
    assert_eq!(
        json["marketing"][0]["wording_sha256"],
        wording.sha256.as_str()
    );
    let untouched = desk.of_request(&other, None, 20).await.unwrap().entries;
    assert!(untouched.is_empty(), "{untouched:?}");
}

async fn nobody_found_is_an_empty_export_that_says_so(backend: Backend) {
    let handle = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let query = SubjectQuery::parse(Some("nobody@example.com"), None).unwrap();
    let made = export(
        Holdings {
            index: handle.subjects().as_ref(),
            desk: handle.desk(&clock).as_ref(),
            register: handle.marketing().as_ref(),
            wordings: &frontdesk_tests::content::shipped_model().consent,
        },
        &match_key(),
        &query,
        &admin(),
        clock.now(),
    )
    .await
    .unwrap();
    let json: Value = serde_json::from_str(&made.to_json().unwrap()).unwrap();
    assert_eq!(schema_errors(&json), Vec::<String>::new());
    assert_eq!(json["bookings"], json!([]));
    assert_eq!(json["searched"]["email"], "nobody@example.com");
    assert!(made
        .to_html()
        .unwrap()
        .contains("No appointment requests are held"));
    assert!(SubjectQuery::parse(None, None).is_err());
    assert!(SubjectQuery::parse(Some("not an address"), None)
        .unwrap_err()
        .starts_with("--email"));
}
