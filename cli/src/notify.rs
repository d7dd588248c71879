//! Notifications outside Lambda, through the same `notify` core: the local
//! server's announcer, which sends what stored bookings owe (woken after
//! each insert, and each desk change that owes a confirmation), and `frontdesk notify`'s sweep, the same pass by hand;
//! through the outbox folder (or SES), printing where each email went.

use async_trait::async_trait;
use frontdesk_shared::booking::record::rfc3339;
use frontdesk_shared::booking::{Booking, Reference};
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::{ContentStore, Kind};
use frontdesk_shared::desk::{
    AuditAction, AuditEntry, AuditId, AuditPage, AuditTrail, Changed, DeskRequest, DeskStore,
    InboxPage, InboxQuery, Reason, RequestInbox, Staff, Step,
};
use frontdesk_shared::mail::outbox::OutboxMailer;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::mail::Mailer;
use frontdesk_shared::notify::clinic;
use frontdesk_shared::notify::{Method, Notice, NoticeLedger, Notifier, Outcome, Sweep};
use frontdesk_shared::rights::Eraser;
use frontdesk_shared::store::{BookingStore, InsertOutcome, NewBooking, StoreError};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::ContentConfig;
use frontdesk_shared::NotifierConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

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

/// A notifier over `ledger` that sends through the mailer `kind` names, as
/// the clinic the content in `content` publishes.
pub async fn notifier(
    kind: MailerKind,
    data_dir: &Path,
    ledger: Arc<dyn NoticeLedger>,
    acknowledgements: Arc<dyn frontdesk_shared::notify::AcknowledgementCounter>,
    config: Arc<NotifierConfig>,
    content: Arc<dyn ContentStore>,
    content_config: &ContentConfig,
) -> Notifier {
    let mailer = open_mailer(kind, data_dir, &config).await;
    let clinic = ContentCache::new(
        content,
        content_config.cache_ttl,
        Clock::system(),
        clinic::Published::of,
    )
    .reading(Kind::Site);
    Notifier::new(ledger, mailer, config, Clock::system(), Arc::new(clinic))
        .with_ceiling(acknowledgements)
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
                config.configuration_sets.clone(),
            ))
        }
    }
}

/// After a pass that left emails owed, how long the announcer waits before
/// the next (the last repeats until nothing is owed); an insert wakes it at once.
const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// The local server's announcer: it tells staff and patients about bookings
/// the way the stream does in Lambda, from the store. One loop sends
/// whatever stored bookings owe: at start, when woken after an insert, and
/// again while anything is still owed. So a cancelled request, a crash or a
/// restart can delay an email, never lose it.
#[derive(Clone)]
pub struct Announcer {
    wake: Arc<Notify>,
}

impl Announcer {
    /// Starts the loop over `notifier`; its first pass runs at once.
    pub fn start(notifier: Notifier) -> Self {
        let wake = Arc::new(Notify::new());
        tokio::spawn(announce(notifier, Arc::clone(&wake)));
        Self { wake }
    }

    /// Asks for a pass now (or right after the one running).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

async fn announce(notifier: Notifier, wake: Arc<Notify>) {
    let mut retries = 0;
    loop {
        let owed = match sweep(&notifier, Duration::ZERO).await {
            Ok(done) => done.owed_after(),
            Err(error) => {
                eprintln!("  the store is unavailable ({error}); trying again");
                1
            }
        };
        if owed == 0 {
            retries = 0;
            wake.notified().await;
            continue;
        }
        let delay = RETRY_DELAYS[retries.min(RETRY_DELAYS.len() - 1)];
        retries += 1;
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// A booking store that wakes the announcer after each booking it stores,
/// so the patient's answer never waits for email.
pub struct NotifyingStore {
    inner: Arc<dyn BookingStore>,
    announcer: Announcer,
}

impl NotifyingStore {
    /// Wraps `inner`; each newly stored booking wakes `announcer`.
    pub fn new(inner: Arc<dyn BookingStore>, announcer: Announcer) -> Self {
        Self { inner, announcer }
    }
}

fn print_report(reference: &Reference, outcomes: &[(Notice, &Outcome)]) {
    for (notice, outcome) in outcomes {
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
            Outcome::Withheld { why } => println!(
                "  {reference}: {notice} email withheld: {}",
                why.explained()
            ),
            Outcome::NotNeeded { why } => println!(
                "  {reference}: {notice} email {}",
                why.explained()
            ),
            Outcome::AlreadySent | Outcome::AlreadyFailed { .. } | Outcome::BookingGone => {}
        }
    }
}

/// Runs the owed-email sweep (`frontdesk notify`), printing where each email
/// went.
pub async fn sweep(notifier: &Notifier, older_than: Duration) -> Result<Sweep, StoreError> {
    notifier
        .sweep(older_than, None, |booking, report| match report {
            Ok(report) => print_report(&booking.reference, report),
            Err(error) => eprintln!("  {}: the store failed ({error})", booking.reference),
        })
        .await
}

#[async_trait]
impl BookingStore for NotifyingStore {
    async fn insert(&self, new: NewBooking) -> Result<InsertOutcome, StoreError> {
        let inner = Arc::clone(&self.inner);
        let announcer = self.announcer.clone();
        // On a task of its own, so a request dropped mid-way (the client
        // gone) cannot stop between the write and the wake; the announcer's
        // pass at start covers a crash in between.
        tokio::spawn(async move {
            let outcome = inner.insert(new).await;
            if matches!(outcome, Ok(InsertOutcome::Stored)) {
                announcer.wake();
            }
            outcome
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the insert's task failed: {e}")))?
    }

    async fn get(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        self.inner.get(reference).await
    }
}

/// The desk's store, waking the announcer after each change that owes the
/// patient an appointment confirmation, as the stream's filtered record
/// does in Lambda.
pub struct NotifyingDesk {
    inner: Arc<dyn DeskStore>,
    announcer: Announcer,
}

impl NotifyingDesk {
    /// Wraps `inner`; each change that owes a confirmation wakes `announcer`.
    pub fn new(inner: Arc<dyn DeskStore>, announcer: Announcer) -> Self {
        Self { inner, announcer }
    }
}

#[async_trait]
impl RequestInbox for NotifyingDesk {
    async fn page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        self.inner.page(query).await
    }

    async fn open(
        &self,
        reference: &Reference,
        by: &Staff,
    ) -> Result<Option<DeskRequest>, StoreError> {
        self.inner.open(reference, by).await
    }

    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError> {
        let changed = self.inner.change(reference, version, step).await?;
        if matches!(changed, Changed::Applied { .. }) && Method::owed_by(step.change()).is_some() {
            self.announcer.wake();
        }
        Ok(changed)
    }
}

#[async_trait]
impl AuditTrail for NotifyingDesk {
    async fn record(
        &self,
        by: &Staff,
        action: AuditAction,
        reference: Option<&Reference>,
    ) -> Result<AuditEntry, StoreError> {
        self.inner.record(by, action, reference).await
    }

    async fn of_request(
        &self,
        reference: &Reference,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError> {
        self.inner.of_request(reference, after, limit).await
    }

    async fn whole(&self, after: Option<&AuditId>, limit: u16) -> Result<AuditPage, StoreError> {
        self.inner.whole(after, limit).await
    }
}

#[async_trait]
impl Eraser for NotifyingDesk {
    async fn erase(
        &self,
        reference: &Reference,
        guards: &[String],
        by: &Staff,
        reason: &Reason,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.inner.erase(reference, guards, by, reason).await
    }
}
