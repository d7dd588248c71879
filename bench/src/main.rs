//! `frontdesk-bench`: each function's release bootstrap run as Lambda runs
//! it, under the loopback Runtime API, against the DynamoDB Local and SES v2
//! emulator that `scripts/bench` starts, beside a bare baseline bootstrap
//! built with the same profile. It reports cold starts, warm durations,
//! peak memory, zipped sizes and DynamoDB requests, holds them to the
//! budgets in docs/ARCHITECTURE.md, and writes the whole to `BENCHMARKS.md`.

mod measure;
mod report;
mod scenario;

use clap::Parser;
use std::fmt::Write;
use std::path::PathBuf;

/// Options: where the bootstraps are, how many runs to measure, where to write.
#[derive(Debug, Parser)]
#[command(name = "frontdesk-bench", about)]
struct Args {
    /// The folder holding the release binaries `booking`, `content`,
    /// `notifier`, `mail-events` and `baseline`.
    #[arg(long, default_value = "target/release")]
    bootstraps: PathBuf,
    /// Cold starts per bootstrap; the median is reported.
    #[arg(long, default_value_t = 30)]
    starts: usize,
    /// Warm invocations per bootstrap, in one process.
    #[arg(long, default_value_t = 1000)]
    invocations: usize,
    /// Criterion's output folder, whose estimates go into the report.
    #[arg(long, default_value = "target/criterion")]
    criterion: PathBuf,
    /// The hand-written analysis appended to the report.
    #[arg(long, default_value = "bench/FINDINGS.md")]
    findings: PathBuf,
    /// Writes the report here (BENCHMARKS.md) as well as to standard output.
    #[arg(long)]
    write: Option<PathBuf>,
}

/// The machine the figures were measured on.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores, {}", std::env::consts::ARCH)
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
        path
    };
    let zips = std::env::temp_dir().join(format!("frontdesk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&zips).expect("a folder for the zips");
    let mut functions = Vec::new();
    for scenario in [
        scenario::booking(count).await,
        scenario::content(count).await,
        scenario::notifier(count).await,
        scenario::mail_events(count).await,
        scenario::desk(count).await,
        scenario::desk_inbox(count).await,
    ] {
        eprintln!("frontdesk-bench: {}", scenario.name);
        let figures = measure::measure(
            &path(scenario.binary),
            scenario,
            args.starts,
            &zips,
            Some(&path("baseline")),
        )
        .await;
        functions.push(figures);
    }
    eprintln!("frontdesk-bench: baseline");
    let baseline = measure::measure(
        &path("baseline"),
        scenario::baseline(count),
        args.starts,
        &zips,
        None,
    )
    .await;
    let _ = std::fs::remove_dir_all(&zips);
    eprintln!("frontdesk-bench: load");
    let plan = frontdesk_tests::load::Plan::standard();
    let tables = frontdesk_tests::DynamoTables::create().await;
    let api = frontdesk_tests::load::serve_over_dynamodb(&tables, &plan).await;
    let load = frontdesk_tests::load::run(&api, &plan).await;

    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `scripts/bench` on {} ({}). Each function's release bootstrap (the workspace's \
         release profile, built for this machine) runs as Lambda runs it, under a loopback Lambda \
         Runtime API, against DynamoDB Local and the SES v2 emulator; `baseline` is a bare \
         `lambda_http` + `aws-config` + DynamoDB and SES v2 clients bootstrap answering a constant, \
         built with the same profile in the same run, and started once before each of a \
         function's cold starts: each function's ratios and init budget are taken against the \
         baseline's starts beside its own, so both meet the machine in the same state (the \
         baseline's row is its own run). Cold start is exec to first response, with the event \
         waiting, as for the request that causes a cold start.\n",
        time::OffsetDateTime::now_utc().date(),
        machine()
    );
    let _ = writeln!(out, "## Bootstraps\n");
    out.push_str(&report::bootstraps(
        &functions,
        &baseline,
        args.starts,
        args.invocations,
    ));
    let _ = writeln!(out, "\n## Load\n");
    let _ = writeln!(
        out,
        "`frontdesk serve`'s application over DynamoDB Local, the mix of `tests/tests/load.rs` \
         (10% resent with the same key, 5% invalid, 5% from one source past its limit of {}), \
         normal traffic from as many loopback addresses as requests in flight. The server, DynamoDB Local and the \
         driver share the machine.\n",
        plan.limit_per_hour
    );
    out.push_str(&load.markdown(&plan));
    let _ = writeln!(out, "\n## Criterion\n");
    match report::criterion(&args.criterion) {
        Some(table) => out.push_str(&table),
        None => {
            let _ = writeln!(
                out,
                "No estimates under {}: `cargo bench -p frontdesk-bench` writes them.",
                args.criterion.display()
            );
        }
    }
    if let Ok(findings) = std::fs::read_to_string(&args.findings) {
        let _ = writeln!(out);
        out.push_str(&findings);
    }
    print!("{out}");
    if let Some(file) = &args.write {
        std::fs::write(file, &out).expect("the report is written");
        eprintln!("frontdesk-bench: wrote {}", file.display());
    }
    if !report::all_met(&functions, &baseline) {
        eprintln!("frontdesk-bench: a budget was missed (see the table)");
    }
}
