//! No personal data in logs. Every name, email, phone number, date of birth,
//! policy number and message a test submits is registered here, and every
//! log line a function writes during the tests is held against them: in
//! process through the tracing subscriber `capture` installs, out of process
//! from the output of a bootstrap or of `frontdesk` (`watch`, `check_output`).
//!
//! A leak in process panics where the line was logged, which fails the test
//! that logged it; a leak in a child's output fails the test that owns the
//! child when it is done with it. Either way it is also kept, and a test
//! binary that saw one exits with a failure even if the panic was swallowed
//! (a spawned task's, say).

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, Once};
use std::thread::JoinHandle;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The booking fields whose values are personal data.
pub const PERSONAL_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "policy_number",
    "message",
];

/// Values with fewer letters or digits than this are too common to tell
/// apart from other text (a one-letter name, punctuation that property
/// tests submit); they are not looked for.
const SHORTEST: usize = 3;

/// Phone numbers are also looked for as bare digits, when at least this
/// long: a UK number has ten or eleven.
const SHORTEST_DIGITS: usize = 9;

/// How one submitted value is looked for in a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Needle {
    /// As written, not inside a longer word (`Ada` is not in `Adapter`).
    Word(String),
    /// In any case: an email address (held lowercase).
    AnyCase(String),
    /// Inside any run of digits: a phone number's digits, without a leading
    /// 0, so `+447700900123` is found for `07700 900123`.
    Digits(String),
}

impl Needle {
    fn found_in(&self, line: &Line) -> bool {
        let Line {
            text: line,
            lower,
            digits,
        } = line;
        match self {
            Self::Word(word) => line.match_indices(word.as_str()).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + word.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            }),
            Self::AnyCase(text) => lower.contains(text.as_str()),
            Self::Digits(needle) => digits.contains(needle.as_str()),
        }
    }

    fn text(&self) -> &str {
        match self {
            Self::Word(t) | Self::AnyCase(t) | Self::Digits(t) => t,
        }
    }
}

/// A line as the needles look at it, each form worked out once.
struct Line<'a> {
    text: &'a str,
    lower: String,
    digits: String,
}

impl<'a> Line<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            lower: text.to_lowercase(),
            digits: text.chars().filter(char::is_ascii_digit).collect(),
        }
    }
}

/// The values looked for.
static SUBMITTED: Mutex<BTreeSet<Needle>> = Mutex::new(BTreeSet::new());
static LEAKS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// Registers `value`, submitted as the booking field `field`, if that
/// field is personal data.
pub fn submitted(field: &str, value: &str) {
    SUBMITTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(needles_of(field, value));
}

/// What to look for when `value` was submitted as `field`: nothing unless
/// the field is personal data and the value long enough to tell apart.
fn needles_of(field: &str, value: &str) -> Vec<Needle> {
    if !PERSONAL_FIELDS.contains(&field) {
        return Vec::new();
    }
    let value = value.trim();
    if value.chars().filter(|c| c.is_alphanumeric()).count() < SHORTEST {
        return Vec::new();
    }
    let mut needles = vec![if field == "email" {
        Needle::AnyCase(value.to_lowercase())
    } else {
        Needle::Word(value.to_owned())
    }];
    if field == "phone" {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        if digits.len() >= SHORTEST_DIGITS {
            needles.push(Needle::Digits(digits.to_owned()));
        }
    }
    needles
}

/// Registers the personal fields of a JSON booking.
pub fn submitted_json(body: &Value) {
    if let Some(fields) = body.as_object() {
        for (field, value) in fields {
            if let Some(text) = value.as_str() {
                submitted(field, text);
            }
        }
    }
}

/// Registers the personal fields of a request body, JSON or form.
pub fn submitted_body(body: &[u8]) {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => submitted_json(&json),
        Err(_) => {
            for (field, value) in form_pairs(body) {
                submitted(&field, &value);
            }
        }
    }
}

/// The fields of a form body, decoded leniently (a bad escape is kept as
/// it is), so the values of a body the service refuses are still looked for.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |text: &[u8]| {
        let text = String::from_utf8_lossy(text).replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned()
    };
    body.split(|b| *b == b'&')
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let field = decode(parts.next().unwrap_or_default());
            (field, decode(parts.next().unwrap_or_default()))
        })
        .collect()
}

/// The submitted value `line` contains, if any.
pub fn leak_in(line: &str) -> Option<String> {
    let line = Line::new(line);
    let submitted = SUBMITTED.lock().unwrap_or_else(|e| e.into_inner());
    submitted
        .iter()
        .find(|needle| needle.found_in(&line))
        .map(|needle| needle.text().to_owned())
}

/// Holds one line `source` logged to the submitted values; a leak is kept
/// and returned as a message naming the value, the source and the line.
pub fn check(source: &str, line: &str) -> Result<(), String> {
    CHECKED.fetch_add(1, Ordering::Relaxed);
    let Some(value) = leak_in(line) else {
        return Ok(());
    };
    let leak = format!("personal data ({value:?}) in a log line of {source}: {line}");
    static FAIL_AT_EXIT: Once = Once::new();
    FAIL_AT_EXIT.call_once(|| {
        // SAFETY: `fail_on_leaks` is a plain function that stays valid for
        // the life of the process.
        unsafe {
            libc::atexit(fail_on_leaks);
        }
    });
    LEAKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(leak.clone());
    Err(leak)
}

/// Holds every line of a finished command's output; panics on a leak.
pub fn check_output(source: &str, output: &str) {
    for line in output.lines() {
        if let Err(leak) = check(source, line) {
            panic!("{leak}");
        }
    }
}

/// How many log lines have been checked so far: a test of the check sees
/// that a function's lines reach it.
pub fn checked() -> usize {
    CHECKED.load(Ordering::Relaxed)
}

/// Takes back the leaks that name `value`, so a test of the check itself
/// can show one found without failing its binary at exit.
pub fn take_leaks_of(value: &str) -> Vec<String> {
    let mut leaks = LEAKS.lock().unwrap_or_else(|e| e.into_inner());
    let named = format!("({value:?})");
    let (taken, kept) = leaks.drain(..).partition(|leak| leak.contains(&named));
    *leaks = kept;
    taken
}

/// Panics if any log line so far, of any source, held personal data.
pub fn assert_no_leaks() {
    let leaks = LEAKS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// Installs the test binary's log subscriber, once: lines at `info` go to
/// the test's output as before, and every event and span field of the
/// workspace's crates (at any level) and of the rest (at `info` and above)
/// is checked for submitted personal data.
pub fn capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let shown = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(tracing_subscriber::EnvFilter::new("info"));
        let checked = NoPersonalData.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target().starts_with("frontdesk") || *meta.level() <= Level::INFO
        }));
        let _ = Registry::default().with(shown).with(checked).try_init();
    });
}

/// At exit: a binary that saw a leak fails, even if every test passed.
extern "C" fn fail_on_leaks() {
    let leaks = LEAKS.lock().unwrap_or_else(|e| e.into_inner());
    if !leaks.is_empty() {
        eprintln!("{} log line(s) held personal data:", leaks.len());
        for leak in leaks.iter() {
            eprintln!("  {leak}");
        }
        // SAFETY: ends the process at once with a failure status, as exit does.
        unsafe { libc::_exit(101) }
    }
}

/// The tracing layer that checks each event's and span's fields.
struct NoPersonalData;

/// Collects every field of an event or span as `name=value` text, strings
/// as they are (not escaped), so a value is found as it was submitted.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.push_str(&format!(" {}={value}", field.name()));
        let mut source = value.source();
        while let Some(cause) = source {
            self.0.push_str(&format!(": {cause}"));
            source = cause.source();
        }
    }
}

impl NoPersonalData {
    fn hold(source: &str, fields: Fields) {
        if let Err(leak) = check(source, &fields.0) {
            // Panicking while unwinding would abort: the leak is kept either way.
            if !std::thread::panicking() {
                panic!("{leak}");
            }
        }
    }
}

impl<S: Subscriber> Layer<S> for NoPersonalData {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        Self::hold(event.metadata().target(), fields);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        Self::hold(attrs.metadata().target(), fields);
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        Self::hold("a span", fields);
    }
}

/// A child process's output as it comes, line by line, each line held to
/// the check as it is read.
pub struct Watched {
    lines: Receiver<String>,
    readers: Vec<JoinHandle<()>>,
}

/// Reads `child`'s piped stdout and stderr on threads of their own, so it
/// never blocks on a full pipe, checking each line as `source`.
pub fn watch(source: &str, child: &mut Child) -> Watched {
    let (sender, lines) = mpsc::channel();
    let mut readers = Vec::new();
    let outputs: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
    ];
    for output in outputs.into_iter().flatten() {
        let sender = sender.clone();
        let source = source.to_owned();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                let _ = check(&source, &line);
                let _ = sender.send(line);
            }
        }));
    }
    Watched { lines, readers }
}

impl Watched {
    /// The lines read so far and to come, in the order read.
    pub fn lines(&self) -> &Receiver<String> {
        &self.lines
    }

    /// Waits for the child's output to end (kill the child first), then
    /// panics if any line held personal data, unless already panicking.
    pub fn finish(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        if !std::thread::panicking() {
            assert_no_leaks();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_found_alone_and_not_inside_another() {
        let ada = Needle::Word("Ada".into());
        assert!(ada.found_in(&Line::new("name=Ada reference=FD-1")));
        assert!(ada.found_in(&Line::new("\"Ada\"")));
        assert!(!ada.found_in(&Line::new("AdaptiveRetry")));
        assert!(!ada.found_in(&Line::new("ada")));
    }

    #[test]
    fn an_email_is_found_in_any_case_and_a_phone_by_its_digits() {
        let email = Needle::AnyCase("fixture.patient@example.com".into());
        assert!(email.found_in(&Line::new("to=Fixture.Patient@EXAMPLE.com")));
        assert!(!email.found_in(&Line::new("to=fixture.patient+3@example.com")));
        let phone = Needle::Digits("7700900123".into());
        assert!(phone.found_in(&Line::new("phone=+44 7700 900123")));
        assert!(!phone.found_in(&Line::new("phone=+44 7700 900124")));
    }

    #[test]
    fn only_personal_fields_long_enough_are_looked_for() {
        submitted("first_name", "Zebedee-Unique");
        submitted("specialty", "Quixotic-Unique");
        submitted("last_name", "Qz");
        submitted("message", "\"Q, z\"");
        submitted("phone", "07700 900999");
        assert_eq!(
            leak_in("hello Zebedee-Unique").as_deref(),
            Some("Zebedee-Unique")
        );
        assert_eq!(leak_in("Quixotic-Unique"), None);
        assert_eq!(leak_in("Qz"), None);
        assert_eq!(leak_in("said \"Q, z\""), None);
        assert_eq!(leak_in("+447700900999").as_deref(), Some("7700900999"));
    }
}
