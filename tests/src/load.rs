//! The booking API under load: `frontdesk serve`'s application over
//! DynamoDB Local on a real port, and a driver that sends a planned mix of
//! bookings (new, resent with the same key, invalid, and a burst from one
//! source past its rate limit) from many loopback addresses at once, and
//! records every answer for the test or the bench to hold to account.

use crate::{booking_with, nth_booking, DynamoTables};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one planned request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A new, valid booking.
    New,
    /// A new booking sent again with the same `Idempotency-Key`.
    Resent,
    /// A booking with an invalid email: refused, never stored.
    Invalid,
    /// A new, valid booking from the one source that sends too many.
    Limited,
}

/// One request of the plan.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Its kind.
    pub kind: Kind,
    /// The booking's number (`nth_booking`); a resend shares its original's.
    pub booking: usize,
    /// The body.
    pub body: Value,
    /// Its `Idempotency-Key`.
    pub key: String,
    /// The loopback address it comes from.
    pub source: Ipv4Addr,
}

/// The mix: how many requests, how many at once, and the rate limit the
/// server is given (the burst source sends twice as many as it allows).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests in all.
    pub total: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The server's `RATE_LIMIT_PER_HOUR`.
    pub limit_per_hour: usize,
    /// Whether a 503 is sent again (same key) until it is answered.
    pub retry_unavailable: bool,
}

impl Plan {
    /// The load: 2,000 requests, 50 at once; 10% resent, 5% invalid,
    /// 5% from one source that is limited to half of them.
    pub fn standard() -> Self {
        Self {
            total: 2000,
            concurrency: 50,
            limit_per_hour: 50,
            retry_unavailable: false,
        }
    }

    /// The planned requests, interleaved in a fixed pseudo-random order with
    /// each resend at least a whole concurrency window after its original.
    pub fn requests(&self) -> Vec<Planned> {
        let Mix {
            new,
            resent,
            invalid,
            limited,
        } = self.mix();
        // Normal traffic comes from as many addresses as requests in flight,
        // each far under the limit.
        let sources = self.concurrency.max(1);
        let source_of = |n: usize| {
            Ipv4Addr::new(
                127,
                1,
                (n % sources / 250) as u8,
                (n % sources % 250) as u8 + 1,
            )
        };
        let burst = Ipv4Addr::new(127, 2, 0, 1);
        let planned = |kind, booking: usize, body: Value, source| Planned {
            kind,
            booking,
            body,
            key: format!("load-{booking}"),
            source,
        };
        let mut firsts: Vec<Planned> = (0..new)
            .map(|n| planned(Kind::New, n, nth_booking(n), source_of(n)))
            .chain((new..new + limited).map(|n| planned(Kind::Limited, n, nth_booking(n), burst)))
            .chain((0..invalid).map(|i| {
                let n = new + limited + i;
                planned(
                    Kind::Invalid,
                    n,
                    booking_with("email", Value::from(format!("not-an-email-{n}"))),
                    source_of(n),
                )
            }))
            .collect();
        shuffle(&mut firsts, 0x5eed);
        // Each resend follows its original by at least a window.
        let window = self.concurrency * 2;
        let mut requests = firsts;
        let originals: Vec<usize> = (0..resent).map(|i| i * new / resent.max(1)).collect();
        for original in originals {
            let at = requests
                .iter()
                .position(|p| p.kind == Kind::New && p.booking == original)
                .expect("the original is planned");
            let resend = Planned {
                kind: Kind::Resent,
                ..requests[at].clone()
            };
            let to = (at + window).min(requests.len());
            requests.insert(to, resend);
        }
        requests
    }

    /// How many bookings the store must hold after the plan: every new one,
    /// and as many of the burst as the limit lets through.
    pub fn expected_stored(&self) -> usize {
        let mix = self.mix();
        mix.new + mix.limited.min(self.limit_per_hour)
    }

    /// How many requests of each kind: 10% resent, 5% invalid, 5% from the
    /// burst source, the rest new.
    fn mix(&self) -> Mix {
        let share = |percent: usize| self.total * percent / 100;
        let (resent, invalid, limited) = (share(10), share(5), share(5));
        Mix {
            new: self.total - resent - invalid - limited,
            resent,
            invalid,
            limited,
        }
    }
}

/// A plan's requests counted by kind.
struct Mix {
    new: usize,
    resent: usize,
    invalid: usize,
    limited: usize,
}

/// A fixed pseudo-random permutation (a linear congruential generator):
/// the same mix on every run.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (state >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

/// One answered request.
#[derive(Debug, Clone)]
pub struct Answered {
    /// What was sent.
    pub planned: Planned,
    /// The final status (after retries of a 503, when the plan retries).
    pub status: u16,
    /// Every status answered, in order.
    pub statuses: Vec<u16>,
    /// The reference, for a 201.
    pub reference: Option<String>,
    /// Whether the answer said it replayed an earlier one.
    pub replayed: bool,
    /// From sending to the final answer.
    pub took: Duration,
}

/// Every answer of a run, and how long it took.
#[derive(Debug, Clone)]
pub struct Report {
    /// The answers, in the order they completed.
    pub answers: Vec<Answered>,
    /// The whole run.
    pub elapsed: Duration,
}

impl Report {
    /// Final answers by status.
    pub fn statuses(&self) -> BTreeMap<u16, usize> {
        let mut counts = BTreeMap::new();
        for a in &self.answers {
            *counts.entry(a.status).or_default() += 1;
        }
        counts
    }

    /// Final answers by kind and status.
    pub fn by_kind(&self) -> BTreeMap<(Kind, u16), usize> {
        let mut counts = BTreeMap::new();
        for a in &self.answers {
            *counts.entry((a.planned.kind, a.status)).or_default() += 1;
        }
        counts
    }

    /// The references answered 201, each once.
    pub fn references(&self) -> BTreeSet<String> {
        self.answers
            .iter()
            .filter(|a| a.status == 201)
            .filter_map(|a| a.reference.clone())
            .collect()
    }

    /// Requests answered per second.
    pub fn throughput(&self) -> f64 {
        self.answers.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which a share `p` of the requests were answered.
    pub fn latency(&self, p: f64) -> Duration {
        let took: Vec<Duration> = self.answers.iter().map(|a| a.took).collect();
        percentile(&took, p)
    }

    /// The run as a Markdown paragraph and table.
    pub fn markdown(&self, plan: &Plan) -> String {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let statuses: Vec<String> = self
            .statuses()
            .iter()
            .map(|(status, n)| format!("{n} × {status}"))
            .collect();
        format!(
            "{} requests, {} at once, in {:.2} s: {:.0} requests/s; answers {}.\n\n\
             | p50 | p90 | p99 | max |\n| --- | --- | --- | --- |\n| {} | {} | {} | {} |\n",
            self.answers.len(),
            plan.concurrency,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            statuses.join(", "),
            ms(self.latency(0.5)),
            ms(self.latency(0.9)),
            ms(self.latency(0.99)),
            ms(self.latency(1.0)),
        )
    }
}

/// `frontdesk serve`'s application over `tables` on a loopback port, with
/// the client's address taken from the connection as `serve` does and the
/// plan's rate limit. Returns its address.
pub async fn serve_over_dynamodb(tables: &DynamoTables, plan: &Plan) -> String {
    let limit = plan.limit_per_hour.to_string();
    let config = crate::test_config(&[
        ("BOOKINGS_TABLE", tables.bookings.as_str()),
        ("GUARDS_TABLE", tables.guards.as_str()),
        ("MARKETING_TABLE", tables.marketing.as_str()),
        ("RATE_LIMIT_PER_HOUR", limit.as_str()),
        // The request's own bound on the store: the tables' client sets the
        // bound each test means (tests/tests/load.rs says why).
        ("STORE_TIMEOUT_MS", "30000"),
    ]);
    let store = tables.store_on(tables.client.clone());
    let content = crate::content::ContentHandle::published(crate::Backend::Embedded).await;
    let app = frontdesk_cli::serve::app(
        Arc::new(store),
        config,
        content.port(),
        &frontdesk_shared::ContentConfig::from_lookup(|_| None).expect("content defaults"),
        None,
        None,
        crate::match_key(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = frontdesk_cli::serve::run(listener, app).await;
        drop(content);
    });
    format!("http://{address}")
}

/// Sends `plan`'s requests to the API at `endpoint`, `plan.concurrency` at
/// once, each from its planned loopback address.
pub async fn run(endpoint: &str, plan: &Plan) -> Report {
    let requests = plan.requests();
    for planned in &requests {
        crate::logs::submitted_json(&planned.body);
    }
    let sources: BTreeSet<Ipv4Addr> = requests.iter().map(|r| r.source).collect();
    let clients: BTreeMap<Ipv4Addr, reqwest::Client> = sources
        .into_iter()
        .map(|source| {
            let client = reqwest::Client::builder()
                .local_address(IpAddr::V4(source))
                .pool_max_idle_per_host(plan.concurrency)
                .build()
                .expect("a client");
            (source, client)
        })
        .collect();
    let queue = Arc::new(Mutex::new(requests.into_iter()));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let url = format!("{endpoint}/v1/bookings");
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency {
        let queue = Arc::clone(&queue);
        let answers = Arc::clone(&answers);
        let clients = clients.clone();
        let url = url.clone();
        let retry = plan.retry_unavailable;
        workers.spawn(async move {
            loop {
                let Some(planned) = queue.lock().expect("lock").next() else {
                    break;
                };
                let client = &clients[&planned.source];
                let answered = send(client, &url, planned, retry).await;
                answers.lock().expect("lock").push(answered);
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("a load worker");
    }
    let elapsed = started.elapsed();
    let answers = std::mem::take(&mut *answers.lock().expect("lock"));
    Report { answers, elapsed }
}

async fn send(client: &reqwest::Client, url: &str, planned: Planned, retry: bool) -> Answered {
    let started = Instant::now();
    let mut statuses = Vec::new();
    loop {
        let answer = client
            .post(url)
            .header("content-type", "application/json")
            .header("origin", crate::SITE_ORIGIN)
            .header("idempotency-key", &planned.key)
            .body(planned.body.to_string())
            .send()
            .await;
        let (status, replayed, body) = match answer {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let replayed = answer.headers().contains_key("idempotent-replayed");
                let body: Value = answer.json().await.unwrap_or_default();
                (status, replayed, body)
            }
            // The server itself is never meant to go away; count it as a 5xx.
            Err(_) => (599, false, Value::Null),
        };
        statuses.push(status);
        if retry && status == 503 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        return Answered {
            reference: body["reference"].as_str().map(str::to_owned),
            planned,
            status,
            statuses,
            replayed,
            took: started.elapsed(),
        };
    }
}

/// The value below which a share `p` of `samples` fall (zero for none):
/// the load's latencies and the bench's timings.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}
