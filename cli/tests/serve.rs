//! `frontdesk serve` as a web developer runs it: the real binary, a real
//! port, the embedded store in a data directory.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    url: String,
    data_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn data_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("frontdesk-serve-{name}-{}", std::process::id()))
}

/// Starts `frontdesk` (no subcommand: serve is the default) on a free port.
fn start(name: &str) -> Server {
    let data_dir = data_dir(name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", &data_dir)
        .env_remove("FRONTDESK_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("frontdesk starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    let url = first
        .rsplit(' ')
        .next()
        .expect("the URL ends the first line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let rest: Vec<String> = lines.take(2).map(|l| l.expect("text")).collect();
    assert!(
        rest.iter().any(|l| l.contains("frontdesk.sqlite3")),
        "{rest:?}"
    );
    Server {
        child,
        url,
        data_dir,
    }
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
        &booking_for=someone_else&consent_contact=on&consent_version=2026-01&website=";
    let response = client
        .post(format!("{}/v1/bookings", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
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
