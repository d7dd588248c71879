//! The log check that every test runs under: personal data a test
//! submitted is found in any function's log line, in process, in a span, in
//! a child's output, and in a spawned task whose panic nobody sees; and
//! nothing else is taken for it.

use frontdesk_tests::{booking_with, logs, Backend, TestApp};
use serde_json::json;
use std::process::{Command, Stdio};

/// The message of a caught panic.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_submitted_name_in_a_function_log_line_fails_where_it_is_logged() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let name = "Quentina-Logcheck";
    let before = logs::checked();
    let response = app
        .post_json(&booking_with("first_name", json!(name)))
        .await;
    assert_eq!(response.status, 201);
    assert!(
        logs::checked() > before,
        "the booking function's log lines reach the check"
    );

    // Had the function logged the name, it would have panicked right there.
    let logged = std::panic::catch_unwind(|| {
        tracing::info!(target: "frontdesk_shared::booking::intake", first_name = name, "booking stored");
    });
    let message = panic_text(logged.expect_err("the line is refused"));
    assert!(
        message.contains(name) && message.contains("frontdesk_shared::booking::intake"),
        "{message}"
    );
    assert_eq!(logs::take_leaks_of(name).len(), 1);
}

#[test]
fn each_kind_of_personal_data_is_found_as_a_log_line_would_write_it() {
    logs::capture();
    logs::submitted_json(&json!({
        "first_name": "Quentina-Kinds",
        "email": "quentina.kinds@example.com",
        "phone": "07700 900456",
        "date_of_birth": "1971-04-30",
        "policy_number": "QK-778899",
        "message": "Quentina's message, not for the logs.",
        "specialty": "neuroendocrine-tumours",
        "last_name": "Qk",
    }));
    for line in [
        r#"{"level":"INFO","fields":{"name":"Quentina-Kinds"}}"#,
        "to=QUENTINA.KINDS@example.com",
        "phone=+447700900456",
        "phone=07700 900456",
        "born 1971-04-30",
        "policy QK-778899",
        "message=\"Quentina's message, not for the logs.\"",
    ] {
        assert!(logs::leak_in(line).is_some(), "{line}");
    }
    // Not a submitted value, not personal data, or too short to tell apart.
    for line in [
        "Quentina-Kindsley",
        "specialty=neuroendocrine-tumours",
        "last_name=Qk",
        "phone=+447700900457",
    ] {
        assert_eq!(logs::leak_in(line), None, "{line}");
    }

    // A span's fields are held to it as well as an event's.
    let entered = std::panic::catch_unwind(|| {
        let _span = tracing::info_span!(target: "frontdesk_notifier", "notify", to = "quentina.kinds@example.com")
            .entered();
    });
    assert!(entered.is_err());
    assert_eq!(logs::take_leaks_of("quentina.kinds@example.com").len(), 1);
}

#[test]
fn a_childs_output_is_checked_line_by_line() {
    logs::submitted("email", "quentina.child@example.com");
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"echo '{"level":"INFO","message":"started"}'; echo '{"level":"WARN","to":"quentina.child@example.com"}' >&2"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let mut output = logs::watch("a child", &mut child);
    child.wait().expect("it ends");
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| output.finish()));
    let message = panic_text(finished.expect_err("the leak fails its owner"));
    assert!(message.contains("a child"), "{message}");
    assert_eq!(logs::take_leaks_of("quentina.child@example.com").len(), 1);
    let lines: Vec<String> = output.lines().try_iter().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn a_leak_whose_panic_is_swallowed_still_fails_the_binary() {
    let child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "--ignored", "leaks_only_in_a_spawned_task"])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(!child.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("held personal data") && stderr.contains("quentina.spawned@example.com"),
        "{stderr}"
    );
}

#[tokio::test]
#[ignore = "run alone by a_leak_whose_panic_is_swallowed_still_fails_the_binary, which expects its binary to fail"]
async fn leaks_only_in_a_spawned_task() {
    logs::capture();
    logs::submitted("email", "quentina.spawned@example.com");
    // As a server's connection task would, the task's panic goes unseen.
    let task = tokio::spawn(async {
        tracing::info!(target: "frontdesk_notifier", to = "quentina.spawned@example.com", "email sent");
    });
    let _ = task.await;
}
