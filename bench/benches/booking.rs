//! A booking's path through our own code, without I/O: a request body
//! decoded, every field parsed and validated, and the booking marshalled
//! into the DynamoDB item that is written.

use aws_sdk_dynamodb::types::AttributeValue;
use criterion::{criterion_group, criterion_main, Criterion};
use frontdesk_shared::booking::record::BookingRecord;
use frontdesk_shared::booking::request::ParseContext;
use frontdesk_shared::booking::{Booking, BookingRequest, Reference, Slug};
use std::collections::HashMap;
use std::hint::black_box;
use time::OffsetDateTime;

fn accept(body: &[u8], form: bool, ctx: &ParseContext<'_>) -> HashMap<String, AttributeValue> {
    let request = if form {
        BookingRequest::from_form(body)
    } else {
        BookingRequest::from_json(body)
    }
    .expect("a decodable body");
    let details = request.parse(ctx).expect("a valid booking");
    let received_at = OffsetDateTime::now_utc();
    let booking = Booking {
        reference: Reference::generate().expect("randomness"),
        received_at,
        details,
        expires_at: received_at + time::Duration::days(365),
        acknowledgement: frontdesk_shared::booking::Acknowledgement::Owed,
    };
    serde_dynamo::to_item(BookingRecord::from(&booking)).expect("an item")
}

fn bench(c: &mut Criterion) {
    let specialties = [Slug::parse("neuroendocrine-tumours").expect("a slug")];
    let wordings = frontdesk_tests::shipped_wordings();
    let ctx = ParseContext {
        specialties: &specialties,
        today: OffsetDateTime::now_utc().date(),
        wordings: &wordings,
    };
    let json = frontdesk_tests::valid_booking().to_string();
    let form = frontdesk_tests::valid_form();
    c.bench_function("booking/json: parse, validate, marshal", |b| {
        b.iter(|| accept(black_box(json.as_bytes()), false, &ctx))
    });
    c.bench_function("booking/form: parse, validate, marshal", |b| {
        b.iter(|| accept(black_box(form.as_bytes()), true, &ctx))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
