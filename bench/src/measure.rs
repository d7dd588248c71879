//! Runs one scenario's bootstrap under the loopback Runtime API: cold starts
//! in fresh processes, then warm invocations in one, counting the DynamoDB
//! requests each kind of invocation makes.

use crate::scenario::Scenario;
use frontdesk_tests::lambda::Bootstrap;
use frontdesk_tests::proxy::Call;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// One bootstrap's measured figures.
pub struct Figures {
    /// The scenario's name.
    pub name: &'static str,
    /// Exec to first response, per cold start.
    pub cold: Vec<Duration>,
    /// The same less the time its first invocation waited on services
    /// (DynamoDB Local, the SES emulator): what the bootstrap itself spends.
    pub cold_own: Vec<Duration>,
    /// Exec to the first request for an event (Lambda's init), per cold start.
    pub init: Vec<Duration>,
    /// The baseline's cold starts, each run just before one of these, so
    /// that both meet the machine in the same state: what the ratios are
    /// taken against (empty for the baseline itself).
    pub beside_cold: Vec<Duration>,
    /// The same cold starts' inits.
    pub beside_init: Vec<Duration>,
    /// The first invocation, per cold start.
    pub first: Vec<Duration>,
    /// Each warm invocation.
    pub warm: Vec<Duration>,
    /// The highest peak resident memory of any of its processes.
    pub peak_rss_kib: u64,
    /// The bootstrap zipped as Lambda takes it.
    pub zip_bytes: u64,
    /// DynamoDB requests per warm invocation, by operation.
    pub warm_requests: Option<BTreeMap<String, f64>>,
    /// The same by operation and table (`UpdateItem guards`), for the
    /// requests that name one table.
    pub warm_by_table: Option<BTreeMap<String, f64>>,
    /// DynamoDB requests per rejected request, when it has rejected ones.
    pub rejected_requests: Option<f64>,
}

/// Zips `binary` as `bootstrap`, as a deployment package holds it, and
/// returns the zip's size.
pub fn zipped_size(binary: &Path, into: &Path) -> u64 {
    let bytes = std::fs::read(binary).expect("the bootstrap");
    let file = std::fs::File::create(into).expect("a zip file");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("a zip entry");
    zip.write_all(&bytes).expect("zipped");
    zip.finish().expect("a zip");
    std::fs::metadata(into).expect("the zip").len()
}

fn per_invocation(calls: &[Call], invocations: usize) -> BTreeMap<String, f64> {
    average(calls.iter().map(|call| call.operation.clone()), invocations)
}

/// Per invocation by operation and the table it names, by the table's
/// kind: the tests name each table `<kind>-<tag>` (`guards-…`).
fn per_table(calls: &[Call], invocations: usize) -> BTreeMap<String, f64> {
    let named = calls.iter().filter_map(|call| {
        let body: Value = serde_json::from_slice(&call.body).ok()?;
        let table = body["TableName"].as_str()?;
        let kind = table.split('-').next().unwrap_or(table);
        Some(format!("{} {kind}", call.operation))
    });
    average(named, invocations)
}

fn average(keys: impl Iterator<Item = String>, invocations: usize) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::<String, f64>::new();
    for key in keys {
        *counts.entry(key).or_default() += 1.0;
    }
    counts.values_mut().for_each(|n| *n /= invocations as f64);
    counts
}

/// One cold start of the baseline at `path`: exec to its first response,
/// and its init.
async fn baseline_start(path: &str, n: usize) -> (Duration, Duration) {
    let event = crate::scenario::baseline(1)
        .events
        .pop()
        .expect("a baseline event");
    let mut baseline = Bootstrap::start(path, "baseline", &[]).await;
    let answer = baseline.invoke(&format!("beside-{n}"), event).await;
    assert_eq!(answer["statusCode"], 200, "baseline: {answer}");
    let cold = baseline.since_spawn();
    (cold, baseline.init_duration().await)
}

/// Measures `scenario`'s bootstrap at `path` over `starts` cold starts,
/// each after one of the baseline at `beside` (when given).
pub async fn measure(
    path: &Path,
    scenario: Scenario,
    starts: usize,
    zips: &Path,
    beside: Option<&Path>,
) -> Figures {
    let path = path.display().to_string();
    let vars: Vec<(&str, &str)> = scenario
        .vars
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let warm = scenario.events.len().saturating_sub(starts + 1);
    let mut events = scenario.events.into_iter().enumerate();
    let name = scenario.name;
    let invoke =
        async |function: &mut Bootstrap, (n, event): (usize, Value), check: fn(&Value) -> bool| {
            let started = Instant::now();
            let answer = function.invoke(&format!("bench-{n}"), event).await;
            let took = started.elapsed();
            assert!(check(&answer), "{name}: unexpected answer {answer}");
            took
        };
    let check = scenario.check;
    let mut figures = Figures {
        name,
        cold: Vec::new(),
        cold_own: Vec::new(),
        init: Vec::new(),
        beside_cold: Vec::new(),
        beside_init: Vec::new(),
        first: Vec::new(),
        warm: Vec::new(),
        peak_rss_kib: 0,
        zip_bytes: zipped_size(Path::new(&path), &zips.join(format!("{name}.zip"))),
        warm_requests: None,
        warm_by_table: None,
        rejected_requests: None,
    };
    // The calls to every service since the last take.
    let calls = || -> Vec<Call> {
        scenario
            .services
            .iter()
            .flat_map(|(_, proxy)| proxy.take())
            .collect()
    };
    for n in 0..starts {
        if let Some(beside) = beside {
            let (cold, init) = baseline_start(&beside.display().to_string(), n).await;
            figures.beside_cold.push(cold);
            figures.beside_init.push(init);
        }
        // Nothing of earlier starts counts against this one.
        calls();
        // The event waits at the Runtime API before the process starts, as
        // the request that causes a cold start does; the process is watched
        // from its spawn, before it can ask a service anything.
        let mut function = Bootstrap::start_watched(&path, name, &vars, |pid| {
            for (_, proxy) in &scenario.services {
                assert!(proxy.watch(pid), "{name}: its CPU clock cannot be read");
            }
        })
        .await;
        let event = events.next().expect("an event for each invocation");
        invoke(&mut function, event, check).await;
        let cold = function.since_spawn();
        let spawned = std::time::Instant::now() - cold;
        let init = function.init_duration().await;
        figures.cold.push(cold);
        // The time it waited on its services, less what it ran meanwhile:
        // each call is read against the process's CPU clock.
        let called = calls();
        let unread: Vec<_> = called
            .iter()
            .filter(|call| call.cpu.is_none())
            .map(|call| {
                (
                    &call.operation,
                    call.at.saturating_duration_since(spawned),
                    call.took,
                )
            })
            .collect();
        assert!(
            unread.is_empty(),
            "{name}: calls of a cold start not read against its CPU clock: {unread:?}"
        );
        figures
            .cold_own
            .push(cold.saturating_sub(frontdesk_tests::proxy::waited(&called)));
        figures.init.push(init);
        figures.first.push(cold.saturating_sub(init));
        figures.peak_rss_kib = figures
            .peak_rss_kib
            .max(function.peak_rss_kib().unwrap_or(0));
    }
    let mut function = Bootstrap::start(&path, name, &vars).await;
    function.init_duration().await;
    invoke(&mut function, events.next().expect("an event"), check).await;
    let proxy = scenario
        .services
        .iter()
        .find(|(service, _)| *service == "DynamoDB")
        .map(|(_, proxy)| proxy);
    calls();
    for event in events.by_ref().take(warm) {
        let took = invoke(&mut function, event, check).await;
        figures.warm.push(took);
    }
    if let Some(proxy) = proxy {
        let calls = proxy.take();
        figures.warm_requests = Some(per_invocation(&calls, warm));
        figures.warm_by_table = Some(per_table(&calls, warm));
    }
    if !scenario.rejected.is_empty() {
        let rejected = scenario.rejected.len();
        for (n, event) in scenario.rejected.into_iter().enumerate() {
            invoke(&mut function, (n, event), |answer| {
                answer["statusCode"] == 422
            })
            .await;
        }
        figures.rejected_requests = proxy.map(|p| p.take().len() as f64 / rejected as f64);
    }
    figures.peak_rss_kib = figures
        .peak_rss_kib
        .max(function.peak_rss_kib().unwrap_or(0));
    figures
}
