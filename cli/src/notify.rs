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
use frontdesk_shared::notify::{NoticeLedger, Notifier, Outcome, Report};
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
            Outcome::InProgress { until } => println!(
                "  {reference}: {notice} email claimed by another attempt until {}",
                rfc3339(*until)
            ),
            Outcome::AlreadySent | Outcome::AlreadyFailed { .. } | Outcome::BookingGone => {}
        }
    }
}

/// What `frontdesk notify` did, in emails.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Bookings that owed an email.
    pub bookings: usize,
    /// Emails sent now.
    pub sent: usize,
    /// Emails refused for good now (recorded on the booking).
    pub refused: usize,
    /// Emails still owed: deferred, claimed by another attempt, or not
    /// reached because the store failed.
    pub still_owed: usize,
}

impl std::fmt::Display for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} booking(s) owed emails: {} sent, {} refused, {} still owed",
            self.bookings, self.sent, self.refused, self.still_owed
        )
    }
}

/// Sends every email the given bookings still owe, once each, printing
/// where each went. A store failure on one booking leaves its emails owed
/// and goes on with the next.
pub async fn sweep(notifier: &Notifier, owed: &[Booking]) -> Sweep {
    let mut done = Sweep {
        bookings: owed.len(),
        ..Sweep::default()
    };
    for booking in owed {
        let report = match notifier.notify(booking).await {
            Ok(report) => report,
            Err(error) => {
                eprintln!("  {}: the store failed ({error})", booking.reference);
                done.still_owed += 2;
                continue;
            }
        };
        print_report(&booking.reference, &report);
        for (_, outcome) in report.outcomes() {
            match outcome {
                Outcome::Sent(_) => done.sent += 1,
                Outcome::Failed { .. } => done.refused += 1,
                Outcome::Deferred { .. } | Outcome::InProgress { .. } => done.still_owed += 1,
                Outcome::AlreadySent | Outcome::AlreadyFailed { .. } | Outcome::BookingGone => {}
            }
        }
    }
    done
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
