//! `frontdesk-bench`: each function's release bootstrap run as Lambda runs
//! it, under the loopback Runtime API, against the DynamoDB Local and SES v2
//! emulator that `scripts/bench` starts. For each function it reports init
//! (exec to the first request for an event) and the first invocation over
//! several cold starts, warm invocation durations, and peak memory: the
//! figures the functions' memory sizes and timeouts are chosen from.

use aws_lambda_events::event::dynamodb::Event;
use clap::Parser;
use frontdesk_tests::content::{shipped_content, ContentHandle};
use frontdesk_tests::lambda::{Bootstrap, HttpEvent};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{nth_booking, Backend, DynamoTables, StoreHandle, TestApp};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options: where the bootstraps are, and how many runs to measure.
#[derive(Debug, Parser)]
#[command(name = "frontdesk-bench", about)]
struct Args {
    /// The folder holding the release binaries `booking`, `content` and `notifier`.
    #[arg(long, default_value = "target/release")]
    bootstraps: PathBuf,
    /// Cold starts per function; the median is reported.
    #[arg(long, default_value_t = 10)]
    starts: usize,
    /// Warm invocations per function, in one process.
    #[arg(long, default_value_t = 1000)]
    invocations: usize,
}

/// One function's events and what a good answer looks like.
struct Scenario {
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    /// One event per invocation, cold starts first: a booking or stream
    /// record is only new once.
    events: Vec<Value>,
    check: fn(&Value) -> bool,
}

/// The measured figures of one function.
struct Figures {
    name: &'static str,
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
}

fn http_event(id: usize, method: &str, path: &str, body: Option<&str>) -> Value {
    let headers: &[(&str, &str)] = &[("content-type", "application/json")];
    HttpEvent {
        method,
        path,
        query: "",
        headers,
        body: body.map(|b| (b, false)),
        source_ip: "192.0.2.10",
    }
    .json(&format!("bench-{id}"))
}

async fn booking(count: usize) -> Scenario {
    let tables = DynamoTables::create().await;
    Scenario {
        name: "booking",
        vars: vec![
            ("BOOKINGS_TABLE", tables.bookings.clone()),
            ("GUARDS_TABLE", tables.guards.clone()),
            ("RATE_LIMIT_PER_HOUR", "0".into()),
        ],
        events: (0..count)
            .map(|n| {
                let body = nth_booking(n).to_string();
                http_event(n, "POST", "/v1/bookings", Some(&body))
            })
            .collect(),
        check: |answer| answer["statusCode"] == 201,
    }
}

async fn content(count: usize) -> Scenario {
    let store = ContentHandle::create(Backend::DynamoDb).await;
    store.push(&shipped_content()).await;
    let ContentHandle::Dynamo { table, .. } = &store else {
        unreachable!("a DynamoDB content table")
    };
    Scenario {
        name: "content",
        vars: vec![("CONTENT_TABLE", table.clone())],
        events: (0..count)
            .map(|n| http_event(n, "GET", "/v1/conditions/neuroendocrine-tumours", None))
            .collect(),
        check: |answer| answer["statusCode"] == 200,
    }
}

async fn notifier(count: usize) -> Scenario {
    // Real bookings, stored by the booking code, read back from the table's
    // stream: each invocation gets one INSERT record, as Lambda would.
    let app = TestApp::with_env(Backend::DynamoDb, &[("RATE_LIMIT_PER_HOUR", "0")]).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    for n in 0..count {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201, "booking {n}: {:?}", answer.body);
    }
    let records = stream.next_inserts(count).await.records;
    let events = records
        .into_iter()
        .map(|record| {
            let mut event = Event::default();
            event.records = vec![record];
            serde_json::to_value(&event).expect("an event")
        })
        .collect();
    Scenario {
        name: "notifier",
        vars: vec![
            ("BOOKINGS_TABLE", tables.bookings.clone()),
            ("MAIL_FROM", "frontdesk@clinic.example".into()),
            ("STAFF_INBOX", "staff@clinic.example".into()),
        ],
        events,
        check: |answer| {
            answer["batchItemFailures"]
                .as_array()
                .is_some_and(|failures| failures.is_empty())
        },
    }
}

async fn measure(path: &str, scenario: Scenario, starts: usize) -> Figures {
    let vars: Vec<(&str, &str)> = scenario
        .vars
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let warm = scenario.events.len().saturating_sub(starts + 1);
    let mut events = scenario.events.into_iter().enumerate();
    let mut invoke = async |function: &mut Bootstrap| {
        let (n, event) = events.next().expect("an event for each invocation");
        let started = Instant::now();
        let answer = function.invoke(&format!("bench-{n}"), event).await;
        let took = started.elapsed();
        assert!(
            (scenario.check)(&answer),
            "{}: unexpected answer {answer}",
            scenario.name
        );
        took
    };
    let mut figures = Figures {
        name: scenario.name,
        init: Vec::new(),
        first: Vec::new(),
        warm: Vec::new(),
        peak_rss_kib: 0,
    };
    for _ in 0..starts {
        let mut function = Bootstrap::start(path, scenario.name, &vars).await;
        figures.init.push(function.init_duration().await);
        figures.first.push(invoke(&mut function).await);
        figures.peak_rss_kib = figures
            .peak_rss_kib
            .max(function.peak_rss_kib().unwrap_or(0));
    }
    let mut function = Bootstrap::start(path, scenario.name, &vars).await;
    function.init_duration().await;
    invoke(&mut function).await;
    for _ in 0..warm {
        let took = invoke(&mut function).await;
        figures.warm.push(took);
    }
    figures.peak_rss_kib = figures
        .peak_rss_kib
        .max(function.peak_rss_kib().unwrap_or(0));
    figures
}

/// The value below which a share `p` of the sorted samples fall.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(figures: &mut Figures) -> String {
    for samples in [&mut figures.init, &mut figures.first, &mut figures.warm] {
        samples.sort();
    }
    format!(
        "| {} | {} | {} | {} | {} | {:.1} MiB |",
        figures.name,
        ms(percentile(&figures.init, 0.5)),
        ms(percentile(&figures.first, 0.5)),
        ms(percentile(&figures.warm, 0.5)),
        ms(percentile(&figures.warm, 0.99)),
        figures.peak_rss_kib as f64 / 1024.0,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    assert!(
        args.starts > 0 && args.invocations > 0,
        "--starts and --invocations must be at least 1"
    );
    let count = args.starts + 1 + args.invocations;
    let path = |name: &str| {
        let path = args.bootstraps.join(name);
        assert!(
            path.is_file(),
            "{} is missing: build it with cargo build --release",
            path.display()
        );
        path.display().to_string()
    };
    let mut rows = Vec::new();
    for scenario in [
        booking(count).await,
        content(count).await,
        notifier(count).await,
    ] {
        let name = scenario.name;
        eprintln!("frontdesk-bench: {name}");
        let mut figures = measure(&path(name), scenario, args.starts).await;
        rows.push(row(&mut figures));
    }
    println!(
        "| function | init (median of {starts}) | first invocation (median) | warm p50 | warm p99 ({invocations}) | peak RSS |",
        starts = args.starts,
        invocations = args.invocations
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
}
