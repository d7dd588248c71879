//! The bench's findings as Markdown: each bootstrap's figures, their ratios
//! to the bare baseline, the budgets of docs/ARCHITECTURE.md met or missed, and the
//! criterion benchmarks' estimates.

use crate::measure::Figures;
use frontdesk_tests::load::percentile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

/// Cold start as a multiple of the baseline's, at most.
pub const COLD_START_RATIO: f64 = 1.0;
/// Peak resident memory, under.
pub const PEAK_RSS_MIB: f64 = 16.0;
/// Zipped bootstrap, under.
pub const ZIP_MIB: f64 = 5.0;

/// Milliseconds, to the hundredth.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn requests(counts: &BTreeMap<String, f64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(operation, n)| format!("{n:.2} {operation}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Requests of `key` (an operation, or an operation and a table) per warm
/// invocation: none when the bootstrap made none, or had no proxy.
fn per_warm(counts: &Option<BTreeMap<String, f64>>, key: &str) -> f64 {
    counts
        .as_ref()
        .and_then(|c| c.get(key).copied())
        .unwrap_or(0.0)
}

/// Whether an average count is exactly `expected`.
fn exactly(count: f64, expected: f64) -> bool {
    (count - expected).abs() < f64::EPSILON
}

/// One budget's verdict.
struct Verdict {
    budget: String,
    measured: String,
    met: bool,
}

fn verdicts(functions: &[Figures], baseline: &Figures) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for f in functions {
        let (base, base_init) = beside(f, baseline);
        let ratio = percentile(&f.cold_own, 0.5).as_secs_f64() / base.as_secs_f64();
        verdicts.push(Verdict {
            budget: format!(
                "{}: cold start, less time waiting on services, ≤ {COLD_START_RATIO}× baseline",
                f.name
            ),
            measured: format!("{ratio:.2}×"),
            met: ratio <= COLD_START_RATIO,
        });
        let init = percentile(&f.init, 0.5);
        verdicts.push(Verdict {
            budget: format!("{}: init below the baseline's", f.name),
            measured: format!("{} against {}", ms(init), ms(base_init)),
            met: init < base_init,
        });
        verdicts.push(Verdict {
            budget: format!("{}: peak RSS < {PEAK_RSS_MIB} MiB", f.name),
            measured: format!("{:.1} MiB", mib(f.peak_rss_kib)),
            met: mib(f.peak_rss_kib) < PEAK_RSS_MIB,
        });
        verdicts.push(Verdict {
            budget: format!("{}: zipped bootstrap < {ZIP_MIB} MiB", f.name),
            measured: format!("{:.2} MiB", f.zip_bytes as f64 / 1024.0 / 1024.0),
            met: (f.zip_bytes as f64) < ZIP_MIB * 1024.0 * 1024.0,
        });
        let total = |counts: &Option<BTreeMap<String, f64>>| {
            counts
                .as_ref()
                .map_or(0.0, |c| c.values().fold(0.0, |a, b| a + b))
        };
        match f.name {
            "booking" => {
                let accepted = total(&f.warm_requests);
                let count = |op: &str| per_warm(&f.warm_requests, op);
                // Each benchmark booking ticks news by email: one put of
                // its opt-in in the marketing register, after the booking.
                let body = frontdesk_tests::nth_booking(0);
                let opt_ins = ["marketing_email", "marketing_sms"]
                    .iter()
                    .filter(|field| body[**field] == serde_json::json!(true))
                    .count() as f64;
                verdicts.push(Verdict {
                    budget: "booking: one TransactWriteItems per accepted booking, and one PutItem per opt-in to news".into(),
                    measured: format!(
                        "{:.2} TransactWriteItems, {:.2} PutItem ({opt_ins} opt-in each), {accepted:.2} requests in all",
                        count("TransactWriteItems"),
                        count("PutItem")
                    ),
                    met: exactly(count("TransactWriteItems"), 1.0)
                        && exactly(count("PutItem"), opt_ins)
                        && exactly(accepted, 1.0 + opt_ins),
                });
                let rejected = f.rejected_requests.unwrap_or(f64::NAN);
                verdicts.push(Verdict {
                    budget: "booking: none for a rejected one".into(),
                    measured: format!("{rejected:.2}"),
                    met: rejected == 0.0,
                });
            }
            "notifier" => {
                // Both emails claimed in one UpdateItem and marked in one,
                // on the bookings table; the hourly acknowledgement
                // ceiling's count, one more, on the guards table.
                let ledger = per_warm(&f.warm_by_table, "UpdateItem bookings");
                let ceiling = per_warm(&f.warm_by_table, "UpdateItem guards");
                let all = total(&f.warm_requests);
                verdicts.push(Verdict {
                    budget: "notifier: two UpdateItem per booking notified, and one for the acknowledgement ceiling's count".into(),
                    measured: format!(
                        "{ledger:.2} UpdateItem on the bookings, {ceiling:.2} on the guards, {all:.2} requests in all"
                    ),
                    met: exactly(ledger, 2.0) && exactly(ceiling, 1.0) && exactly(all, 3.0),
                });
            }
            "mail-events" => {
                let updates = per_warm(&f.warm_requests, "UpdateItem");
                let all = total(&f.warm_requests);
                verdicts.push(Verdict {
                    budget: "mail-events: one UpdateItem per event".into(),
                    measured: format!("{updates:.2} UpdateItem, {all:.2} requests in all"),
                    met: exactly(updates, 1.0) && exactly(all, 1.0),
                });
            }
            "desk" => {
                let count = |op: &str| per_warm(&f.warm_requests, op);
                let all = total(&f.warm_requests);
                verdicts.push(Verdict {
                    budget: "desk: one GetItem and one audit PutItem per request page".into(),
                    measured: format!(
                        "{:.2} GetItem, {:.2} PutItem, {all:.2} requests in all",
                        count("GetItem"),
                        count("PutItem")
                    ),
                    met: exactly(count("GetItem"), 1.0)
                        && exactly(count("PutItem"), 1.0)
                        && exactly(all, 2.0),
                });
            }
            "desk-inbox" => {
                let queries = per_warm(&f.warm_requests, "Query");
                let all = total(&f.warm_requests);
                verdicts.push(Verdict {
                    budget: "desk: one Query per inbox page of 50".into(),
                    measured: format!("{queries:.2} Query, {all:.2} requests in all"),
                    met: exactly(queries, 1.0) && exactly(all, 1.0),
                });
            }
            "content" => {
                let warm = total(&f.warm_requests);
                verdicts.push(Verdict {
                    budget: "content: no DynamoDB request on a warm cache".into(),
                    measured: format!("{warm:.2}"),
                    met: warm == 0.0,
                });
            }
            _ => {}
        }
    }
    verdicts
}

/// The baseline's median cold start and init that `f` is held to: those
/// of the baseline's starts run between its own, or else of its own run.
fn beside(f: &Figures, baseline: &Figures) -> (Duration, Duration) {
    if f.beside_cold.is_empty() {
        (
            percentile(&baseline.cold, 0.5),
            percentile(&baseline.init, 0.5),
        )
    } else {
        (
            percentile(&f.beside_cold, 0.5),
            percentile(&f.beside_init, 0.5),
        )
    }
}

/// Whether every budget was met.
pub fn all_met(functions: &[Figures], baseline: &Figures) -> bool {
    verdicts(functions, baseline).iter().all(|v| v.met)
}

/// The bootstraps' table, the ratios and the budgets.
pub fn bootstraps(
    functions: &[Figures],
    baseline: &Figures,
    starts: usize,
    invocations: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| bootstrap | cold start (median of {starts}) | ratio | less service time | ratio | init | baseline's init beside | first invocation | warm p50 | warm p99 ({invocations}) | peak RSS | zipped |"
    );
    let _ = writeln!(out, "|{}", " --- |".repeat(12));
    for f in functions.iter().chain([baseline]) {
        let (base, base_init) = beside(f, baseline);
        let cold = percentile(&f.cold, 0.5);
        let own = percentile(&f.cold_own, 0.5);
        let _ = writeln!(
            out,
            "| {} | {} | {:.2}× | {} | {:.2}× | {} | {} | {} | {} | {} | {:.1} MiB | {} B |",
            f.name,
            ms(cold),
            cold.as_secs_f64() / base.as_secs_f64(),
            ms(own),
            own.as_secs_f64() / base.as_secs_f64(),
            ms(percentile(&f.init, 0.5)),
            ms(base_init),
            ms(percentile(&f.first, 0.5)),
            ms(percentile(&f.warm, 0.5)),
            ms(percentile(&f.warm, 0.99)),
            mib(f.peak_rss_kib),
            thousands(f.zip_bytes),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "DynamoDB requests per warm invocation, counted by a proxy between the bootstrap and DynamoDB Local:");
    let _ = writeln!(out);
    for f in functions {
        if let Some(counts) = &f.warm_requests {
            let _ = write!(out, "- {}: {}", f.name, requests(counts));
            if let Some(rejected) = f.rejected_requests {
                let _ = write!(out, "; per rejected booking: {rejected:.2}");
            }
            let _ = writeln!(out);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| budget (docs/ARCHITECTURE.md) | measured | |");
    let _ = writeln!(out, "| --- | --- | --- |");
    for v in verdicts(functions, baseline) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            v.budget,
            v.measured,
            if v.met { "met" } else { "**missed**" }
        );
    }
    out
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The estimates criterion left under `dir` (its `target/criterion`), one
/// row per benchmark: `None` when it holds none.
pub fn criterion(dir: &Path) -> Option<String> {
    let mut rows = Vec::new();
    collect_estimates(dir, dir, &mut rows);
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out =
        String::from("| benchmark | mean | 95% interval | median |\n| --- | --- | --- | --- |\n");
    for (name, estimates) in rows {
        let point = |key: &str| {
            estimates[key]["point_estimate"]
                .as_f64()
                .unwrap_or(f64::NAN)
        };
        let bound = |which: &str| {
            estimates["mean"]["confidence_interval"][which]
                .as_f64()
                .unwrap_or(f64::NAN)
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} – {} | {} |",
            micros(point("mean")),
            micros(bound("lower_bound")),
            micros(bound("upper_bound")),
            micros(point("median")),
        );
    }
    Some(out)
}

fn micros(nanos: f64) -> String {
    format!("{:.2} µs", nanos / 1000.0)
}

fn collect_estimates(root: &Path, dir: &Path, rows: &mut Vec<(String, Value)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        let estimates = path.join("new/estimates.json");
        if let Some(value) = std::fs::read(&estimates)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        {
            // The benchmark's own name; its folder's name is a mangled copy.
            let name = std::fs::read(path.join("new/benchmark.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|b| b["full_id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| {
                    path.strip_prefix(root)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                });
            rows.push((name, value));
        } else {
            collect_estimates(root, &path, rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every budget `verdicts` holds is named in the architecture document,
    /// with the figure this file holds it to.
    #[test]
    fn the_architecture_document_names_every_budget() {
        let doc = include_str!("../../docs/ARCHITECTURE.md");
        for named in [
            format!("at most {COLD_START_RATIO}×"),
            "`COLD_START_RATIO`".to_owned(),
            format!("peak RSS under {PEAK_RSS_MIB} MiB"),
            "`PEAK_RSS_MIB`".to_owned(),
            format!("zipped bootstrap under {ZIP_MIB} MiB"),
            "`ZIP_MIB`".to_owned(),
            "booking: one TransactWriteItems per accepted booking, and one PutItem per opt-in to news".to_owned(),
            "booking: no DynamoDB request for a rejected one".to_owned(),
            "content: no DynamoDB request on a warm cache".to_owned(),
            "mail-events: one `UpdateItem` per event".to_owned(),
            "notifier: two `UpdateItem` per booking notified".to_owned(),
            "one more for the hourly acknowledgement ceiling's count".to_owned(),
            "init below the baseline's".to_owned(),
        ] {
            assert!(
                doc.contains(&named),
                "docs/ARCHITECTURE.md does not name {named:?}"
            );
        }
    }
}
