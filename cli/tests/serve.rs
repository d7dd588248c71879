//! `frontdesk serve` as a web developer runs it: the real binary, a real
//! port, the embedded store in a data directory; and `frontdesk notify`,
//! which sends what the server could not.

use frontdesk_tests::logs::{self, Watched};
use frontdesk_tests::outbox::{self, OutboxEmail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    url: String,
    data_dir: PathBuf,
    /// Everything it prints, each line held to the log check as it comes.
    output: Watched,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        self.output.finish();
    }
}

fn data_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("frontdesk-serve-{name}-{}", std::process::id()))
}

/// Starts `frontdesk` (no subcommand: serve is the default) on a free port.
fn start(name: &str) -> Server {
    start_with(name, &[("FRONTDESK_MAILER", "outbox")])
}

/// Starts `frontdesk` with extra environment variables.
fn start_with(name: &str, vars: &[(&str, &str)]) -> Server {
    start_in(data_dir(name), vars)
}

/// Starts `frontdesk` on the data directory `data_dir`, new or not.
fn start_in(data_dir: PathBuf, vars: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .envs(vars.iter().copied())
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", &data_dir)
        .env(
            "FRONTDESK_CONTENT_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../content"),
        )
        .env(
            "FRONTDESK_SITE_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../site"),
        )
        .env_remove("FRONTDESK_STORE")
        .env_remove("STAFF_INBOX_ROUTES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("frontdesk starts");
    let output = logs::watch("frontdesk serve", &mut child);
    let next = || {
        output
            .lines()
            .recv_timeout(Duration::from_secs(30))
            .expect("frontdesk prints its start-up lines")
    };
    let first = next();
    let url = first
        .rsplit(' ')
        .next()
        .expect("the URL ends the first line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let rest: Vec<String> = (0..4).map(|_| next()).collect();
    assert!(
        rest.iter().any(|l| l.contains("frontdesk.sqlite3")),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains("emails are written to")
                || l.contains("emails are sent through SES")),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains("content: GET") && l.contains("1 condition")),
        "{rest:?}"
    );
    Server {
        child,
        url,
        data_dir,
        output,
    }
}

impl Server {
    /// Posts a booking as JSON from the server's own pages, with a key of
    /// its own as the site's script sends it; it must be stored. Returns its reference.
    async fn book(&self, body: serde_json::Value) -> String {
        logs::submitted_json(&body);
        let response = reqwest::Client::new()
            .post(format!("{}/v1/bookings", self.url))
            .header("origin", &self.url)
            .header("idempotency-key", frontdesk_tests::fresh_key())
            .json(&body)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        body["reference"].as_str().expect("a reference").to_owned()
    }

    /// The next `count` lines the server prints that `keep` picks.
    fn printed(&self, count: usize, keep: impl Fn(&str) -> bool) -> Vec<String> {
        std::iter::from_fn(|| {
            self.output
                .lines()
                .recv_timeout(Duration::from_secs(30))
                .ok()
        })
        .filter(|l| keep(l))
        .take(count)
        .collect()
    }
}

/// Runs a `frontdesk` command to its end, with the outbox mailer unless
/// `vars` says otherwise.
fn frontdesk(args: &[&str], vars: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env_remove("FRONTDESK_STORE")
        .env_remove("FRONTDESK_MAILER")
        .env_remove("MAIL_FROM")
        .env_remove("STAFF_INBOX")
        .env_remove("STAFF_INBOX_ROUTES")
        .envs(vars.iter().copied())
        .output()
        .expect("frontdesk runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    logs::check_output(&format!("frontdesk {}", args.join(" ")), &stdout);
    logs::check_output(&format!("frontdesk {}", args.join(" ")), &stderr);
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn serve_takes_a_plain_form_and_keeps_it_in_the_data_dir() {
    let server = start("form");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form =
        "first_name=Fixture&last_name=Patient&email=fixture%40example.com&phone=020+8247+3351\
        &date_of_birth=1980-01-01&specialty=not_sure&payment=self_pay&contact_method=phone\
        &booking_for=someone_else&consent_contact=on&consent_version=2026-11&website=\
        &idempotency_key=page-key-1";
    logs::submitted_body(form.as_bytes());
    let response = client
        .post(format!("{}/v1/bookings", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &server.url)
        .body(form)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/thank-you?reference=CCL-"),
        "{location}"
    );
    assert!(server.data_dir.join("frontdesk.sqlite3").exists());

    // A malformed JSON body over TCP gets a problem, not a crash.
    let response = client
        .post(format!("{}/v1/bookings", server.url))
        .header("content-type", "application/json")
        .header("origin", &server.url)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn serve_writes_each_bookings_two_emails_to_the_outbox() {
    let server = start("outbox");
    let reference = server
        .book(serde_json::json!({
            "first_name": "Fixture", "last_name": "Patient",
            "email": "fixture.outbox@example.com", "phone": "07700 900123",
            "date_of_birth": "1970-03-31", "specialty": "neuroendocrine-tumours",
            "payment": "self_pay", "gp_referral": false, "contact_method": "phone",
            "message": "Fixture message <b>bold</b>", "booking_for": "self",
            "consent_contact": true, "consent_version": "2026-11", "website": ""
        }))
        .await;

    // The server says where each email went.
    let printed = server.printed(2, |l| l.contains(" email -> "));
    assert!(
        printed
            .iter()
            .all(|l| l.contains(&reference) && l.contains(".eml")),
        "{printed:?}"
    );

    let outbox = server.data_dir.join("outbox");
    let files = outbox::wait_for(&outbox, 2).await;
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.extension().is_some_and(|e| e == "eml")));
    let mut seen = Vec::new();
    for file in &files {
        let OutboxEmail {
            to,
            subject,
            both_parts,
            ..
        } = outbox::read(file);
        assert!(subject.ends_with(&reference), "{subject}");
        assert!(both_parts, "both parts");
        seen.push((to, subject));
    }
    seen.sort();
    // The folder, the database and every email are their owner's alone,
    // whatever the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&server.data_dir), 0o700);
        assert_eq!(mode(&outbox), 0o700);
        for file in files.iter().cloned().chain(
            [
                "frontdesk.sqlite3",
                "frontdesk.sqlite3-wal",
                "match-key.json",
            ]
            .map(|f| server.data_dir.join(f)),
        ) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    assert_eq!(
        seen,
        [
            (
                "fixture.outbox@example.com".to_owned(),
                format!("Your appointment request {reference}")
            ),
            (
                "staff@localhost.localdomain".to_owned(),
                format!("New appointment request {reference}")
            ),
        ]
    );
}

#[tokio::test]
async fn serve_answers_the_content_api_from_the_content_folder() {
    let server = start("content");
    let client = reqwest::Client::new();
    let url = format!("{}/v1/conditions/neuroendocrine-tumours", server.url);
    let response = client.get(&url).send().await.expect("the server answers");
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let page: serde_json::Value = response.json().await.unwrap();
    assert_eq!(page["title"], "Neuroendocrine tumours (NETs)");
    let again = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = client
        .get(format!("{}/v1/nowhere", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

#[test]
fn a_broken_content_folder_stops_start_up_with_its_problems() {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", data_dir("broken-content"))
        .env(
            "FRONTDESK_CONTENT_DIR",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/content-broken"
            ),
        )
        .output()
        .expect("frontdesk runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("content-broken/site.md:4: `phone` is not a UK phone number"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(data_dir("broken-content"));
}

#[test]
fn a_bad_variable_stops_start_up_and_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", data_dir("bad"))
        .env("RATE_LIMIT_PER_HOUR", "ten")
        .output()
        .expect("frontdesk runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("RATE_LIMIT_PER_HOUR"), "{stderr}");
}

#[tokio::test]
async fn notify_sends_the_emails_the_server_could_not() {
    // SES on a port nobody listens on: every send fails as a transient error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut server = start_with(
        "notify",
        &[
            ("FRONTDESK_MAILER", "ses"),
            ("AWS_ENDPOINT_URL_SESV2", &nowhere),
            ("AWS_ACCESS_KEY_ID", "frontdesktest"),
            ("AWS_SECRET_ACCESS_KEY", "frontdesktest"),
            ("AWS_REGION", "eu-west-2"),
            ("MAIL_TIMEOUT_MS", "500"),
        ],
    );
    let reference = server
        .book(serde_json::json!({
            "first_name": "Fixture", "last_name": "Patient",
            "email": "fixture.notify@example.com", "phone": "07700 900123",
            "date_of_birth": "1970-03-31", "specialty": "neuroendocrine-tumours",
            "payment": "self_pay", "contact_method": "phone", "booking_for": "self",
            "consent_contact": true, "consent_version": "2026-11"
        }))
        .await;
    let deferred = server.printed(2, |l| l.contains(&reference) && l.contains("deferred"));
    assert_eq!(deferred.len(), 2, "{deferred:?}");
    // The server stops before its retries get through.
    let _ = server.child.kill();
    let _ = server.child.wait();

    let dir = server.data_dir.to_str().unwrap().to_owned();
    let outbox = server.data_dir.join("outbox");
    // A booking made just now is left to the stream by default.
    let (ok, out, _) = frontdesk(&["notify", "--data-dir", &dir], &[]);
    assert!(ok && out.contains("0 booking(s) owed emails"), "{out}");
    let (ok, out, _) = frontdesk(
        &[
            "notify",
            "--data-dir",
            &dir,
            "--older-than-minutes",
            "0",
            "--dry-run",
        ],
        &[],
    );
    assert!(ok, "{out}");
    assert!(out.contains(&reference), "{out}");
    assert!(
        out.contains("1 booking(s) owe emails; nothing sent"),
        "{out}"
    );
    assert!(outbox::files(&outbox).is_empty());

    // Real mail needs the deployment's sender and inbox, never the local defaults.
    let (ok, _, err) = frontdesk(
        &[
            "notify",
            "--data-dir",
            &dir,
            "--older-than-minutes",
            "0",
            "--mailer",
            "ses",
        ],
        &[],
    );
    assert!(!ok && err.contains("MAIL_FROM"), "{err}");
    assert!(outbox::files(&outbox).is_empty());

    let (ok, out, err) = frontdesk(
        &["notify", "--data-dir", &dir, "--older-than-minutes", "0"],
        &[],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 booking(s) owed emails: 2 sent, 0 refused, 0 held, 0 still owed"),
        "{out}"
    );
    let mut subjects: Vec<String> = outbox::files(&outbox)
        .iter()
        .map(|file| outbox::read(file).subject)
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            format!("New appointment request {reference}"),
            format!("Your appointment request {reference}"),
        ]
    );

    // Once sent, never again.
    let (ok, out, _) = frontdesk(
        &["notify", "--data-dir", &dir, "--older-than-minutes", "0"],
        &[],
    );
    assert!(
        ok && out.contains("0 booking(s) owed emails: 0 sent"),
        "{out}"
    );
    assert_eq!(outbox::files(&outbox).len(), 2);
}

#[tokio::test]
async fn serve_serves_the_example_site_wired_to_the_api() {
    let server = start_with(
        "site",
        &[
            ("FRONTDESK_MAILER", "outbox"),
            ("FRONTDESK_SITE_API", "https://api.clinic.example/"),
        ],
    );
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/book", server.url))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    // The form carries a fresh key: no cache may keep the page and hand it on.
    assert_eq!(page.headers()["cache-control"], "no-store");
    // Its form, posted to the API's origin, names the page's origin (not null).
    assert_eq!(
        page.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("form-action 'self' https://api.clinic.example;"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"action="https://api.clinic.example/v1/bookings""#));
    assert!(!html.contains("{{"), "every placeholder is filled in");

    for (path, kind) in [
        ("/", "text/html; charset=utf-8"),
        ("/site.css", "text/css; charset=utf-8"),
        ("/book.js", "text/javascript; charset=utf-8"),
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], kind, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
    }
    // Without a reference, the thank-you page says it comes by email.
    let thanks = client
        .get(format!("{}/thank-you", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        thanks.contains("We will usually email you your reference"),
        "{thanks}"
    );
    for path in [
        "/missing",
        "/Cargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/.hidden.html",
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[test]
fn a_site_api_that_is_not_a_url_stops_start_up() {
    let (ok, _, stderr) = frontdesk(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--site-dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../site"),
        ],
        &[("FRONTDESK_SITE_API", "api.clinic.example")],
    );
    assert!(!ok);
    assert!(stderr.contains("--site-api"), "{stderr}");
}

/// Waits until the outbox holds `count` emails naming `reference`, and returns them.
fn outbox_emails(server: &Server, reference: &str, count: usize) -> Vec<OutboxEmail> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found: Vec<OutboxEmail> = outbox::files(&server.data_dir.join("outbox"))
            .iter()
            .map(|file| outbox::read(file))
            .filter(|email| email.subject.contains(reference))
            .collect();
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_before_it_could_send_sends_both_emails_once_when_restarted() {
    let dir = data_dir("restart-owed");
    std::fs::create_dir_all(&dir).unwrap();
    // A file where the outbox folder goes: every send fails for now.
    let outbox = dir.join("outbox");
    std::fs::write(&outbox, b"not a folder").unwrap();
    let mut server = start_in(dir.clone(), &[("FRONTDESK_MAILER", "outbox")]);
    let reference = server.book(frontdesk_tests::nth_booking(4_343)).await;
    let deferred = server.printed(2, |l| l.contains(&reference) && l.contains("deferred"));
    assert_eq!(deferred.len(), 2, "{deferred:?}");
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("the server is gone");

    // Restarted with the outbox fixed: its first pass sends what is owed.
    std::fs::remove_file(&outbox).unwrap();
    let restarted = start_in(dir.clone(), &[("FRONTDESK_MAILER", "outbox")]);
    let sent = restarted.printed(2, |l| l.contains(&reference) && l.contains("email -> "));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(outbox_emails(&restarted, &reference, 2).len(), 2);

    // Once each: the booking owes nothing more.
    let (ok, out, _) = frontdesk(
        &[
            "notify",
            "--data-dir",
            dir.to_str().unwrap(),
            "--older-than-minutes",
            "0",
            "--dry-run",
        ],
        &[],
    );
    assert!(ok && out.contains("0 booking(s) owe emails"), "{out}");
    assert_eq!(outbox::files(&outbox).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_status_lists_emails_in_a_bad_state_and_fails_for_a_staff_one() {
    use frontdesk_shared::booking::Reference;
    use frontdesk_shared::notify::{Delivery, Notice, NoticeLedger};
    use frontdesk_shared::store::embedded::EmbeddedBookingStore;
    let mut server = start("status");
    let reference = server.book(frontdesk_tests::nth_booking(4_545)).await;
    let sent = server.printed(2, |l| l.contains(&reference) && l.contains("email -> "));
    assert_eq!(sent.len(), 2, "{sent:?}");
    let _ = server.child.kill();
    let _ = server.child.wait();
    let dir = server.data_dir.to_str().unwrap().to_owned();
    let status = || frontdesk(&["notify", "--status", "--data-dir", &dir], &[]);

    // The outbox delivered both: nothing needs attention.
    let (ok, out, err) = status();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 booking(s) over the last 30 days: 0 email(s) need attention"),
        "{out}"
    );

    // SES reports the staff email bounced: listed, and the command fails.
    let store = EmbeddedBookingStore::open(&frontdesk_cli::serve::database_path(&server.data_dir))
        .expect("the store");
    let parsed = Reference::parse(&reference).unwrap();
    let staff = store.state(&parsed, Notice::Staff).await.unwrap().unwrap();
    let id = staff.message_id.expect("a message id");
    // A bounce ranks above the outbox's "delivered", as a late bounce does.
    store
        .record_delivery(
            &parsed,
            Notice::Staff,
            &id,
            Delivery::Bounced,
            Some("Permanent/General"),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    drop(store);
    let (ok, out, err) = status();
    assert!(!ok, "a staff email in a bad state fails the command: {out}");
    let line = out
        .lines()
        .find(|l| l.contains(&reference))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("staff") && line.contains("bounced (Permanent/General)"),
        "{line}"
    );
    assert_eq!(
        out.matches(&reference).count(),
        1,
        "the patient's email is fine: {out}"
    );
    assert!(err.contains("1 staff email(s)"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_holds_emails_while_sending_is_paused_and_sends_them_once_when_it_is_not() {
    use frontdesk_tests::ses::{emails, ses_endpoint, Fault, FaultProxy, SENDING_PAUSED};
    let dir = data_dir("notify-paused");
    std::fs::create_dir_all(&dir).unwrap();
    // The server cannot write its outbox, so the booking's emails stay owed.
    std::fs::write(dir.join("outbox"), b"not a folder").unwrap();
    let mut server = start_in(dir.clone(), &[("FRONTDESK_MAILER", "outbox")]);
    let reference = server.book(frontdesk_tests::nth_booking(4_646)).await;
    let deferred = server.printed(2, |l| l.contains(&reference) && l.contains("deferred"));
    assert_eq!(deferred.len(), 2, "{deferred:?}");
    let _ = server.child.kill();
    let _ = server.child.wait();

    // SES, as the notifier function's settings reach it, paused for two sends.
    let paused = FaultProxy::start(ses_endpoint(), Fault::First(2), SENDING_PAUSED).await;
    let proxy = paused.endpoint();
    let dir_text = dir.to_str().unwrap().to_owned();
    let notify = || {
        frontdesk(
            &[
                "notify",
                "--data-dir",
                &dir_text,
                "--older-than-minutes",
                "0",
                "--mailer",
                "ses",
            ],
            &[
                ("MAIL_FROM", "bookings@clinic.example"),
                ("STAFF_INBOX", "desk@clinic.example"),
                ("DESK_URL", "https://desk.clinic.example"),
                ("AWS_ENDPOINT_URL_SESV2", &proxy),
                ("AWS_ACCESS_KEY_ID", "frontdesktest"),
                ("AWS_SECRET_ACCESS_KEY", "frontdesktest"),
                ("AWS_REGION", "eu-west-2"),
            ],
        )
    };
    let (ok, out, err) = notify();
    assert!(!ok, "held emails are still owed: {out}{err}");
    assert!(
        out.contains("0 sent, 0 refused, 2 held, 0 still owed"),
        "{out}"
    );
    assert!(err.contains("2 held by the account or its set-up"), "{err}");
    let (ok, out, err) = notify();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("2 sent, 0 refused, 0 held, 0 still owed"),
        "{out}"
    );
    assert_eq!(
        emails(&ses_endpoint(), &reference).await.len(),
        2,
        "each once"
    );
    let (ok, out, _) = notify();
    assert!(ok && out.contains("0 booking(s) owed emails"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_killed_mid_write_opens_holding_every_booking_answered_201() {
    use frontdesk_shared::booking::Reference;
    use frontdesk_shared::store::embedded::EmbeddedBookingStore;
    use frontdesk_shared::store::BookingStore;
    use std::sync::{Arc, Mutex};

    let mut server = start_with(
        "sigkill",
        &[("FRONTDESK_MAILER", "outbox"), ("RATE_LIMIT_PER_HOUR", "0")],
    );
    let url = format!("{}/v1/bookings", server.url);
    let origin = server.url.clone();
    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = tokio::task::JoinSet::new();
    for worker in 0..20 {
        let (url, origin, created) = (url.clone(), origin.clone(), Arc::clone(&created));
        writers.spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let body = frontdesk_tests::nth_booking(worker * 100_000 + n);
                let request = client
                    .post(&url)
                    .header("origin", &origin)
                    .header("idempotency-key", frontdesk_tests::fresh_key())
                    .json(&body);
                let Ok(answer) = request.send().await else {
                    return; // The server is gone.
                };
                let status = answer.status();
                let Ok(body) = answer.json::<serde_json::Value>().await else {
                    return;
                };
                assert_eq!(status, 201, "{body}");
                let reference = body["reference"].as_str().expect("a reference");
                created.lock().unwrap().push(reference.to_owned());
            }
        });
    }
    // Kill it (SIGKILL) while twenty writers are mid-request.
    while created.lock().unwrap().len() < 150 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("the server is gone");
    while writers.join_next().await.is_some() {}
    let created = created.lock().unwrap().clone();

    // It opens cleanly and holds every booking it answered 201.
    let path = frontdesk_cli::serve::database_path(&server.data_dir);
    let store = EmbeddedBookingStore::open(&path).expect("the store opens after SIGKILL");
    for reference in &created {
        let reference = Reference::parse(reference).expect("a reference");
        assert!(
            store.get(&reference).await.expect("readable").is_some(),
            "{reference:?} was answered 201 and must be stored"
        );
    }
    drop(store);

    // And the server starts on it again and takes bookings.
    let restarted = start_in(
        server.data_dir.clone(),
        &[("FRONTDESK_MAILER", "outbox"), ("RATE_LIMIT_PER_HOUR", "0")],
    );
    restarted.book(frontdesk_tests::nth_booking(999_999)).await;
    println!(
        "{} bookings answered 201 before SIGKILL, all stored",
        created.len()
    );
}

#[tokio::test]
async fn subject_export_writes_a_persons_bookings_beside_a_running_server() {
    let server = start("subject");
    let reference = server
        .book(serde_json::json!({
            "first_name": "Fixture", "last_name": "Subject",
            "email": "fixture.subject@example.com", "phone": "07700 900123",
            "date_of_birth": "1970-03-31", "specialty": "neuroendocrine-tumours",
            "payment": "self_pay", "contact_method": "phone", "booking_for": "self",
            "consent_contact": true, "consent_version": "2026-11", "marketing_sms": true
        }))
        .await;
    let data_dir = server.data_dir.display().to_string();
    let out = server.data_dir.join("for-the-patient");
    let out_arg = out.display().to_string();
    let (ok, stdout, stderr) = frontdesk(
        &[
            "subject",
            "export",
            "--email",
            "Fixture.Subject@example.com",
            "--by",
            "lead@clinic.example",
            "--data-dir",
            &data_dir,
            "--out",
            &out_arg,
        ],
        &[],
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.starts_with("1 booking(s) exported to "), "{stdout}");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let json = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "json"))
        .expect("the JSON document");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(document["bookings"][0]["reference"], reference.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), 0o700);
        for file in &files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }
    // An export in the data folder's own exports folder older than
    // thirty days goes when the folder is next opened; a recent one stays.
    let exports = server.data_dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let (old, recent) = (exports.join("old.json"), exports.join("recent.json"));
    for file in [&old, &recent] {
        std::fs::write(file, "{}").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(31 * 24 * 3600))
        .unwrap();
    let (ok, stdout, stderr) = frontdesk(
        &[
            "subject",
            "export",
            "--phone",
            "07700 900123",
            "--by",
            "lead@clinic.example",
            "--data-dir",
            &data_dir,
        ],
        &[],
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(!old.exists() && recent.exists());
    // Nobody named: a clear refusal, nothing written.
    let (ok, _, stderr) = frontdesk(
        &[
            "subject",
            "export",
            "--by",
            "lead@clinic.example",
            "--data-dir",
            &data_dir,
        ],
        &[],
    );
    assert!(
        !ok && stderr.contains("--email, --phone or both"),
        "{stderr}"
    );

    // The opt-in to news by text message is in the export, then withdrawn.
    assert_eq!(document["marketing"][0]["channel"], "sms");
    let withdraw = |channel: &str| {
        frontdesk(
            &[
                "subject",
                "withdraw-marketing",
                "--phone",
                "07700 900123",
                "--channel",
                channel,
                "--by",
                "lead@clinic.example",
                "--data-dir",
                &data_dir,
            ],
            &[],
        )
    };
    let (ok, _, stderr) = withdraw("post");
    assert!(!ok && stderr.contains("--channel"), "{stderr}");
    let (ok, stdout, stderr) = withdraw("sms");
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("1 opt-in(s) to the clinic's news withdrawn")
            && stdout.contains(&reference),
        "{stdout}"
    );
    let (ok, stdout, _) = withdraw("all");
    assert!(
        ok && stdout.contains("\n0 opt-in(s)") && stdout.starts_with("email: not searched"),
        "{stdout}"
    );
}

#[tokio::test]
async fn subject_erase_leaves_no_byte_of_the_person_while_the_server_runs() {
    let server = start("erase");
    let person = serde_json::json!({
        "first_name": "Yolanda", "last_name": "Erasmus",
        "email": "yolanda.erasmus@example.com", "phone": "07700 900321",
        "date_of_birth": "1970-03-31", "specialty": "neuroendocrine-tumours",
        "payment": "self_pay", "contact_method": "phone", "booking_for": "self",
        "message": "Results from my last scan", "consent_contact": true,
        "consent_version": "2026-11", "marketing_email": true, "marketing_sms": true
    });
    let reference = server.book(person).await;
    // Both emails are in the outbox before it is erased.
    assert_eq!(outbox_emails(&server, &reference, 2).len(), 2);
    let data_dir = server.data_dir.display().to_string();
    // A reason left blank is refused, and nothing is erased.
    let (ok, _, stderr) = frontdesk(
        &[
            "subject",
            "erase",
            "--email",
            "yolanda.erasmus@example.com",
            "--by",
            "lead@clinic.example",
            "--reason",
            " ",
            "--data-dir",
            &data_dir,
        ],
        &[],
    );
    assert!(!ok && stderr.contains("--reason"), "{stderr}");
    assert_eq!(outbox_emails(&server, &reference, 2).len(), 2);
    let erase = |confirmed: bool| {
        let mut args = vec![
            "subject",
            "erase",
            "--email",
            "yolanda.erasmus@example.com",
            "--by",
            "lead@clinic.example",
            "--reason",
            "erasure requested by the data subject",
            "--data-dir",
            &data_dir,
        ];
        if confirmed {
            args.push("--yes");
        }
        frontdesk(&args, &[])
    };
    // Without --yes it lists what it would erase, and erases nothing.
    let (ok, stdout, stderr) = erase(false);
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
    assert!(
        stdout.contains("1 booking(s) would be erased") && stdout.contains(&reference),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 opt-in(s) to the clinic's news would be removed:"),
        "{stdout}"
    );
    assert_eq!(outbox_emails(&server, &reference, 2).len(), 2);
    let (ok, stdout, stderr) = erase(true);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains(&reference), "{stdout}");
    assert!(
        stdout.contains("2 file(s) about them removed from"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 opt-in(s) to the clinic's news removed from the marketing register"),
        "{stdout}"
    );
    assert!(stdout.contains("mailboxes"), "{stdout}");

    // No byte of any database file, nor any email left, holds the person.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&server.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("frontdesk.sqlite3"))
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    for file in outbox::files(&server.data_dir.join("outbox")) {
        bytes.extend(std::fs::read(file).unwrap());
    }
    assert!(!bytes.is_empty());
    for trace in [
        "yolanda.erasmus@example.com",
        "Yolanda",
        "Erasmus",
        "+447700900321",
        "Results from my last scan",
    ] {
        assert!(
            !bytes.windows(trace.len()).any(|w| w == trace.as_bytes()),
            "{trace} is still in the data folder"
        );
    }

    // The server, which had the file open throughout, still takes bookings.
    let again = server
        .book(serde_json::json!({
            "first_name": "Fixture", "last_name": "After",
            "email": "fixture.after@example.com", "phone": "07700 900123",
            "date_of_birth": "1970-03-31", "specialty": "neuroendocrine-tumours",
            "payment": "self_pay", "contact_method": "phone", "booking_for": "self",
            "consent_contact": true, "consent_version": "2026-11"
        }))
        .await;
    assert_ne!(again, reference);
}
