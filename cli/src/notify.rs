//! Notifications outside Lambda, through the same `notify` core: the local
//! server's, right after each booking is stored, and `frontdesk notify`'s
//! sweep of the emails stored bookings still owe; through the outbox folder
//! (or SES), printing where each email went.

use async_trait::async_trait;
use frontdesk_shared::booking::record::rfc3339;
use frontdesk_shared::booking::{Booking, Reference};
use frontdesk_shared::mail::outbox::OutboxMailer;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::mail::Mailer;
use frontdesk_shared::notify::{NoticeLedger, Notifier, Outcome, Report, Sweep};
use frontdesk_shared::store::{BookingStore, InsertOutcome, NewBooking, StoreError};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::NotifierConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where `serve` sends emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MailerKind {
    /// `.eml` files in `<data-dir>/outbox/`, for any mail client to open.
    Outbox,
    /// Amazon SES v2, through the AWS SDK's standard environment
    /// (`AWS_ENDPOINT_URL_SESV2` points it at an emulator).
    Ses,
}

/// The outbox folder inside a data directory.
pub fn outbox_path(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

/// A notifier over `ledger` that sends through the mailer `kind` names.
pub async fn notifier(
    kind: MailerKind,
    data_dir: &Path,
    ledger: Arc<dyn NoticeLedger>,
    config: Arc<NotifierConfig>,
) -> Notifier {
    let mailer = open_mailer(kind, data_dir, &config).await;
    Notifier::new(ledger, mailer, config, Clock::system())
}

/// Builds the mailer that `kind` names.
async fn open_mailer(
    kind: MailerKind,
    data_dir: &Path,
    config: &NotifierConfig,
) -> Arc<dyn Mailer> {
    match kind {
        MailerKind::Outbox => Arc::new(OutboxMailer::new(outbox_path(data_dir))),
        MailerKind::Ses => {
            let sdk = frontdesk_shared::aws::load(config.mail_timeout).await;
            Arc::new(SesMailer::new(
                frontdesk_shared::aws::sesv2_client_on(&sdk, config.mail_timeout),
                config.configuration_set.clone(),
            ))
        }
    }
}

/// How often, and after how long, `serve` tries a deferred email again.
const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// A booking store that notifies each booking it stores, in the background,
/// so the patient's answer never waits for email.
pub struct NotifyingStore {
    inner: Arc<dyn BookingStore>,
    notifier: Notifier,
}

impl NotifyingStore {
    /// Wraps `inner`; each newly stored booking is handed to `notifier`.
    pub fn new(inner: Arc<dyn BookingStore>, notifier: Notifier) -> Self {
        Self { inner, notifier }
    }
}

/// Notifies one booking, trying deferred emails again a few times.
pub async fn notify_with_retries(notifier: Notifier, booking: Booking) {
    let reference = booking.reference.clone();
    for delay in std::iter::once(Duration::ZERO).chain(RETRY_DELAYS) {
        tokio::time::sleep(delay).await;
        match notifier.notify(&booking).await {
            Ok(report) => {
                print_report(&reference, &report);
                if !report.must_retry() {
                    return;
                }
            }
            Err(error) => {
                eprintln!("  {reference}: the store is unavailable ({error}); trying again")
            }
        }
    }
    eprintln!("  {reference}: emails still not sent; `frontdesk notify` sends them");
}

fn print_report(reference: &Reference, report: &Report) {
    for (notice, outcome) in report.outcomes() {
        match outcome {
            Outcome::Sent(sent) => println!("  {reference}: {notice} email -> {}", sent.receipt),
            Outcome::Failed { code } => {
                println!("  {reference}: {notice} email refused ({code}); recorded on the booking")
            }
            Outcome::Deferred { reason } => {
                println!("  {reference}: {notice} email deferred ({reason}); will try again")
            }
            Outcome::Held { code } => println!(
                "  {reference}: {notice} email held ({code}): the account or its set-up needs an operator; it stays owed"
            ),
            Outcome::InProgress { until } => println!(
                "  {reference}: {notice} email claimed by another attempt until {}",
                rfc3339(*until)
            ),
            Outcome::AlreadySent | Outcome::AlreadyFailed { .. } | Outcome::BookingGone => {}
        }
    }
}

/// Runs the owed-email sweep (`frontdesk notify`), printing where each email
/// went.
pub async fn sweep(notifier: &Notifier, older_than: Duration) -> Result<Sweep, StoreError> {
    notifier
        .sweep(older_than, |booking, report| match report {
            Ok(report) => print_report(&booking.reference, report),
            Err(error) => eprintln!("  {}: the store failed ({error})", booking.reference),
        })
        .await
}

#[async_trait]
impl BookingStore for NotifyingStore {
    async fn insert(&self, new: NewBooking) -> Result<InsertOutcome, StoreError> {
        let booking = new.booking.clone();
        let outcome = self.inner.insert(new).await?;
        if outcome == InsertOutcome::Stored {
            tokio::spawn(notify_with_retries(self.notifier.clone(), booking));
        }
        Ok(outcome)
    }

    async fn get(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        self.inner.get(reference).await
    }
}
