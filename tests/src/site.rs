//! The local server as a web developer runs it (`frontdesk serve`'s app:
//! API, example site, embedded store, outbox), on a real port, with the
//! site's pages and the API on different origins: the pages are loaded from
//! `http://localhost:<port>` and call the API at `http://127.0.0.1:<port>`.

use crate::content::{shipped_content, TempDir};
use crate::notifier::{MAIL_FROM, STAFF_INBOX};
use frontdesk_cli::notify::{self, MailerKind, NotifyingStore};
use frontdesk_cli::serve::{self, StoreKind};
use frontdesk_cli::site::Site;
use frontdesk_shared::booking::reference::Reference;
use frontdesk_shared::booking::Booking;
use frontdesk_shared::store::embedded::EmbeddedBookingStore;
use frontdesk_shared::store::BookingStore;
use frontdesk_shared::{BookingConfig, ContentConfig, NotifierConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The repository's example site.
pub fn site_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../site")
}

/// A running local server with its data directory, stopped on drop.
pub struct SiteServer {
    /// The port it listens on.
    pub port: u16,
    /// The server's database, as the tests read it.
    database: EmbeddedBookingStore,
    /// The staff desk's one-time sign-in link, as `frontdesk serve` prints it.
    pub desk_sign_in: String,
    data_dir: TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl SiteServer {
    /// The server with the site's origin, `http://localhost:<port>`, allowed
    /// to call the API.
    pub async fn start() -> Self {
        crate::logs::capture();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let site = format!("http://localhost:{port}");
        let config = BookingConfig::from_lookup(|name| match name {
            "ALLOWED_ORIGINS" => Some(site.clone()),
            "THANK_YOU_URL" => Some(format!("{site}/thank-you")),
            "FORM_URL" => Some(format!("{site}/book")),
            _ => None,
        })
        .expect("booking settings");
        let content_config = ContentConfig::from_lookup(|_| None).expect("content settings");
        let data_dir = TempDir::new("site");
        let store = serve::open_store(
            StoreKind::Embedded,
            data_dir.path(),
            &config,
            &content_config,
            &frontdesk_shared::DeskConfig::from_lookup(|_| None).expect("desk settings"),
        )
        .await
        .expect("the embedded store");
        let loaded = frontdesk_cli::content::check(&shipped_content()).expect("shipped content");
        frontdesk_shared::content::push(
            store.content.as_ref(),
            &loaded,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("content loaded");
        let notifier_config = NotifierConfig::from_lookup(|name| match name {
            "MAIL_FROM" => Some(MAIL_FROM.to_owned()),
            "STAFF_INBOX" => Some(STAFF_INBOX.to_owned()),
            "DESK_URL" => Some(format!("http://127.0.0.1:{port}")),
            _ => None,
        })
        .expect("notifier settings");
        let match_key =
            Arc::new(serve::local_match_key(data_dir.path()).expect("the data folder's key"));
        let rights = serve::rights(
            &store,
            &content_config,
            Arc::clone(&match_key),
            serve::StoreKind::Embedded,
            data_dir.path(),
        );
        let notifier = notify::notifier(
            MailerKind::Outbox,
            data_dir.path(),
            store.notices,
            store.acknowledgements,
            Arc::new(notifier_config),
            Arc::clone(&store.content),
            &content_config,
        )
        .await;
        let database = EmbeddedBookingStore::open(&serve::database_path(data_dir.path()))
            .expect("the database");
        // As `frontdesk serve` wires it: a booking and a desk change that
        // owes a confirmation each wake the announcer.
        let announcer = notify::Announcer::start(notifier);
        let (sign_in, secret) = frontdesk_desk::local::LocalSignIn::new().expect("randomness");
        let desk = serve::desk(
            Arc::new(notify::NotifyingDesk::new(store.desk, announcer.clone())),
            serve::consultants(&store.content, &content_config),
            rights,
            frontdesk_shared::DeskConfig::from_lookup(|_| None).expect("desk settings"),
            frontdesk_shared::time_source::Clock::system(),
            &sign_in,
        );
        let app = serve::app(
            Arc::new(NotifyingStore::new(store.bookings, announcer)),
            config,
            store.content,
            &content_config,
            Some(Site::new(site_dir(), &format!("http://127.0.0.1:{port}")).expect("the site")),
            Some(desk),
            match_key,
        );
        let task = tokio::spawn(async move {
            let _ = serve::run(listener, app).await;
        });
        Self {
            port,
            database,
            desk_sign_in: format!("http://127.0.0.1:{port}/desk/sign-in#{secret}"),
            data_dir,
            task,
        }
    }

    /// A page of the site on its own origin.
    pub fn page(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// A page of the site on an origin the API does not allow.
    pub fn foreign_page(&self, path: &str) -> String {
        format!("http://elsewhere.test:{}{path}", self.port)
    }

    /// The stored booking with this reference.
    pub async fn booking(&self, reference: &str) -> Option<Booking> {
        let reference = Reference::parse(reference).expect("a reference");
        self.database
            .get(&reference)
            .await
            .expect("the store answers")
    }

    /// The plain text of the email to `to` whose subject starts `subject`,
    /// once `count` emails have arrived.
    pub async fn email_text(&self, count: usize, to: &str, subject: &str) -> String {
        let outbox = notify::outbox_path(self.data_dir.path());
        crate::outbox::wait_for(&outbox, count)
            .await
            .iter()
            .map(|file| crate::outbox::read(file))
            .find(|email| email.to == to && email.subject.starts_with(subject))
            .map(|email| email.text)
            .unwrap_or_else(|| panic!("no email to {to} about {subject:?}"))
    }

    /// Every file under the data folder (the database and its log, the
    /// outbox, the exports) whose bytes hold `text`.
    pub fn files_holding(&self, text: &str) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, text: &[u8], found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("the data folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, text, found);
                } else if std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(text.len()).any(|w| w == text))
                {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.data_dir.path(), text.as_bytes(), &mut found);
        found
    }

    /// How many bookings are stored.
    pub async fn count(&self) -> u64 {
        self.database.count_bookings().await.expect("a count")
    }

    /// The emails in the outbox whose subject starts with `subject`, once
    /// `count` of them have arrived (or after 10 s), oldest first.
    pub async fn emails_about(
        &self,
        subject: &str,
        count: usize,
    ) -> Vec<crate::outbox::OutboxEmail> {
        let outbox = notify::outbox_path(self.data_dir.path());
        let mut found = Vec::new();
        for _ in 0..100 {
            let mut files = crate::outbox::files(&outbox);
            files.sort();
            found = files
                .iter()
                .map(|file| crate::outbox::read(file))
                .filter(|email| email.subject.starts_with(subject))
                .collect();
            if found.len() >= count {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        found
    }

    /// The emails in the outbox once `count` have arrived (or after 10 s):
    /// each one's recipient and subject, sorted.
    pub async fn emails(&self, count: usize) -> Vec<(String, String)> {
        let outbox = notify::outbox_path(self.data_dir.path());
        let mut emails: Vec<(String, String)> = crate::outbox::wait_for(&outbox, count)
            .await
            .iter()
            .map(|file| {
                let email = crate::outbox::read(file);
                (email.to, email.subject)
            })
            .collect();
        emails.sort();
        emails
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
