//! The notifier as the tests build it: the real core over a test's store
//! and a real mailer (the SES v2 emulator, or an outbox folder).

use crate::StoreHandle;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use frontdesk_shared::content::cache::{Fixed, Publication};
use frontdesk_shared::mail::outbox::OutboxMailer;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::mail::Mailer;
use frontdesk_shared::notify::{clinic, Notice, NoticeLedger, NoticeState, Notifier};
use frontdesk_shared::store::dynamodb::DynamoNoticeLedger;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::NotifierConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The clinic's sending address in tests.
pub const MAIL_FROM: &str = "bookings@clinic.example";
/// The default staff inbox in tests.
pub const STAFF_INBOX: &str = "desk@clinic.example";
/// The staff inbox that neuroendocrine tumour bookings are routed to in tests.
pub const NET_INBOX: &str = "net-team@clinic.example";

/// Where the desk is in tests, for the staff summary's link.
pub const DESK_URL: &str = "https://desk.clinic.example";

/// The notifier's configuration for tests, with `vars` over these defaults.
pub fn notifier_config(vars: &[(&str, &str)]) -> NotifierConfig {
    let route = format!("neuroendocrine-tumours={NET_INBOX}");
    let defaults = [
        ("MAIL_FROM", MAIL_FROM),
        ("STAFF_INBOX", STAFF_INBOX),
        ("STAFF_INBOX_ROUTES", route.as_str()),
        ("MAIL_TIMEOUT_MS", "2000"),
        ("DESK_URL", DESK_URL),
    ];
    NotifierConfig::from_lookup(|name| {
        vars.iter()
            .chain(defaults.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .expect("test notifier configuration")
}

/// An SES mailer on the emulator at `endpoint`.
pub async fn ses_mailer(endpoint: &str) -> SesMailer {
    crate::logs::capture();
    let sdk = frontdesk_shared::aws::load(Duration::from_secs(2)).await;
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .timeout_config(frontdesk_shared::aws::timeouts(Duration::from_secs(2)))
            .build(),
    );
    SesMailer::new(client, test_configuration_sets())
}

/// An SES mailer at `endpoint` whose client never retries, so each send is
/// one request and its error is the service's own answer.
pub async fn ses_mailer_without_retries(endpoint: &str) -> SesMailer {
    crate::logs::capture();
    let sdk = frontdesk_shared::aws::load(Duration::from_secs(2)).await;
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .build(),
    );
    SesMailer::new(client, test_configuration_sets())
}

/// The configuration sets of the tests' SES mailers.
pub fn test_configuration_sets() -> frontdesk_shared::mail::ConfigurationSets {
    frontdesk_shared::mail::ConfigurationSets {
        patient: Some("frontdesk-test".into()),
        staff: Some("frontdesk-test-staff".into()),
    }
}

/// A fresh, empty outbox folder under the system's temporary directory.
pub fn outbox_dir(name: &str) -> PathBuf {
    crate::unique_temp_path(&format!("outbox-{name}"))
}

/// An outbox mailer in a fresh folder.
pub fn outbox_mailer(name: &str) -> OutboxMailer {
    crate::logs::capture();
    OutboxMailer::new(outbox_dir(name))
}

impl StoreHandle {
    /// The store's notice ledger (claims and sent marks).
    pub fn ledger(&self) -> Arc<dyn NoticeLedger> {
        match self {
            Self::Embedded(store) => Arc::new(store.clone()),
            Self::Dynamo(t) => Arc::new(DynamoNoticeLedger::new(t.client.clone(), &t.bookings)),
        }
    }

    /// Where one email of a booking stands.
    pub async fn notice(&self, reference: &str, notice: Notice) -> NoticeState {
        let reference =
            frontdesk_shared::booking::Reference::parse(reference).expect("a reference");
        self.ledger()
            .state(&reference, notice)
            .await
            .expect("ledger state")
            .expect("the booking exists")
    }
}

/// A notifier over a test's store and `mailer`.
pub fn notifier_over(
    store: &StoreHandle,
    mailer: Arc<dyn Mailer>,
    vars: &[(&str, &str)],
    clock: Clock,
) -> Notifier {
    Notifier::new(
        store.ledger(),
        mailer,
        Arc::new(notifier_config(vars)),
        clock,
        shipped_clinic(),
    )
}

/// The clinic as the shipped content publishes it (`content/site.md`),
/// fixed, for tests about something other than where it comes from.
pub fn shipped_clinic() -> Arc<dyn Publication<clinic::Published>> {
    let content = frontdesk_cli::content::check(&crate::content::shipped_content())
        .expect("the shipped content");
    Arc::new(Fixed(Arc::new(
        clinic::Published::of(&content).expect("its site"),
    )))
}

/// The template's stream event source: records per batch.
pub const STREAM_BATCH_SIZE: usize = 10;
/// The template's stream event source: deliveries of a failing batch after
/// the first, before its records go to the failure queue.
pub const STREAM_MAX_RETRIES: usize = 10;

/// How a stream's records reached the notifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Invocations in all.
    pub invocations: usize,
    /// Of those, deliveries again from a batch's earliest reported record.
    pub redeliveries: usize,
}

/// Delivers `records` to the notifier's handler as the template's event
/// source mapping does: in order, in batches of `STREAM_BATCH_SIZE`; a
/// batch that reports records (or fails as a whole) is delivered again from
/// its earliest reported record after `pause`. Panics when one batch fails
/// more than `STREAM_MAX_RETRIES` times, since Lambda would then hand its
/// records to the failure queue.
pub async fn deliver_as_lambda(
    notifier: &Notifier,
    records: &[EventRecord],
    pause: Duration,
) -> Deliveries {
    let mut deliveries = Deliveries::default();
    let mut cursor = 0;
    let mut retries = 0;
    while cursor < records.len() {
        let batch = &records[cursor..(cursor + STREAM_BATCH_SIZE).min(records.len())];
        let mut event = Event::default();
        event.records = batch.to_vec();
        deliveries.invocations += 1;
        let earliest_failed = match frontdesk_notifier::handle(notifier, event).await {
            Ok(answer) => answer
                .batch_item_failures
                .iter()
                .filter_map(|f| {
                    batch.iter().position(|r| {
                        r.change.sequence_number.is_some()
                            && r.change.sequence_number == f.item_identifier
                    })
                })
                .min(),
            Err(_) => Some(0),
        };
        match earliest_failed {
            None => {
                cursor += batch.len();
                retries = 0;
            }
            Some(index) => {
                cursor += index;
                retries = if index == 0 { retries + 1 } else { 1 };
                assert!(
                    retries <= STREAM_MAX_RETRIES,
                    "the batch from record {cursor} failed {retries} times: Lambda gives up"
                );
                deliveries.redeliveries += 1;
                tokio::time::sleep(pause).await;
            }
        }
    }
    deliveries
}
