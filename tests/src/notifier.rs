//! The notifier as the tests build it: the real core over a test's store
//! and a real mailer (the SES v2 emulator, or an outbox folder).

use crate::StoreHandle;
use frontdesk_shared::mail::outbox::OutboxMailer;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::mail::Mailer;
use frontdesk_shared::notify::{Notice, NoticeLedger, NoticeState, Notifier};
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

/// The notifier's configuration for tests, with `vars` over these defaults.
pub fn notifier_config(vars: &[(&str, &str)]) -> NotifierConfig {
    let route = format!("neuroendocrine-tumours={NET_INBOX}");
    let defaults = [
        ("MAIL_FROM", MAIL_FROM),
        ("STAFF_INBOX", STAFF_INBOX),
        ("STAFF_INBOX_ROUTES", route.as_str()),
        ("MAIL_TIMEOUT_MS", "2000"),
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
    let sdk = frontdesk_shared::aws::load(Duration::from_secs(2)).await;
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .timeout_config(frontdesk_shared::aws::timeouts(Duration::from_secs(2)))
            .build(),
    );
    SesMailer::new(client, Some("frontdesk-test".into()))
}

/// A fresh, empty outbox folder under the system's temporary directory.
pub fn outbox_dir(name: &str) -> PathBuf {
    crate::unique_temp_path(&format!("outbox-{name}"))
}

/// An outbox mailer in a fresh folder.
pub fn outbox_mailer(name: &str) -> OutboxMailer {
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
    )
}
