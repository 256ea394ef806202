//! The HTTP API under load (issue #4, "Bad input and load"): many concurrent integrators appending over HTTP
//! while investigators read a 500-event child's chronology, against the same appends made straight through
//! `EventStore::append` in the same process.
//!
//! ```text
//! cargo bench -p journey-api --bench load
//! JOURNEY_LOAD_SECONDS=20 JOURNEY_LOAD_CLIENTS=128 cargo bench -p journey-api --bench load
//! ```
//!
//! Environment:
//! * `JOURNEY_LOAD_SECONDS` (default 10): how long each of the five phases runs.
//! * `JOURNEY_LOAD_CLIENTS` (default 64): concurrent integrators (HTTP connections, or store callers for the
//!   baselines).
//! * `JOURNEY_LOAD_READERS` (default 4): concurrent investigators reading the chronology.
//! * `JOURNEY_LOAD_DIR` (default `$TMPDIR`, else `/tmp`): where the store and journal are made.
//!
//! The server is `journey_api::router` over an `EmbeddedStore` and a `FileJournal` (both durable: group
//! commit and `fdatasync`), served by `axum::serve` on a loopback port; the clients (hyper-util's pooled
//! HTTP/1 client) run on the same Tokio runtime, so client and server share the machine's cores.
//! Nothing is asserted: the numbers are printed next to their targets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use journey_api::{AppState, Config, NewKey, Role};
use journey_core::ExpectedVersion;
use journey_core::store::EventStore;
use journey_core::testkit::bench::env_number;
use journey_core::testkit::{append, contact, registered};
use journey_core::{NewEvent, PrincipalId, SystemClock};
use journey_embedded::EmbeddedStore;
use journey_embedded::FileJournal;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A child is left for a new one after this many events, as integrators write for many children.
const EVENTS_PER_CHILD: u64 = 1_000;
const READ_CHILD: &str = "load-read-child";
const READ_CHILD_EVENTS: usize = 500;
const PURPOSE: &str = "load test (synthetic data)";

/// The allocator `journey serve` uses (cli/src/main.rs), so the server measured here is the one deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Settings {
    seconds: u64,
    clients: usize,
    readers: usize,
    dir: std::path::PathBuf,
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            seconds: env_number("JOURNEY_LOAD_SECONDS", 10),
            clients: env_number("JOURNEY_LOAD_CLIENTS", 64) as usize,
            readers: env_number("JOURNEY_LOAD_READERS", 4) as usize,
            dir: std::env::var_os("JOURNEY_LOAD_DIR")
                .or_else(|| std::env::var_os("TMPDIR"))
                .map_or_else(|| "/tmp".into(), Into::into),
        }
    }
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

/// The batch size of an integrator's `n`th request: 10 to 100, spread evenly.
fn batch_size(n: u64) -> usize {
    10 + ((n * 37) % 91) as usize
}

/// One integrator's next events: the registration first on a new child, then contacts.
struct Writer {
    prefix: String,
    child: u64,
    in_child: u64,
    next_event: u64,
}

impl Writer {
    fn new(prefix: String) -> Writer {
        Writer {
            prefix,
            child: 0,
            in_child: 0,
            next_event: 0,
        }
    }

    /// The child id and `size` events for it.
    fn next(&mut self, size: usize) -> (String, Vec<NewEvent>) {
        if self.in_child + size as u64 > EVENTS_PER_CHILD {
            self.child += 1;
            self.in_child = 0;
        }
        let child = format!("{}-c{}", self.prefix, self.child);
        let mut events = Vec::with_capacity(size);
        for _ in 0..size {
            let id = format!("{}-e{}", self.prefix, self.next_event);
            self.next_event += 1;
            events.push(if self.in_child == 0 {
                registered(&id, "2015-06-01")
            } else {
                contact(&id, "2023-12-21")
            });
            self.in_child += 1;
        }
        (child, events)
    }
}

/// Latencies in microseconds.
#[derive(Default)]
struct Latencies(Vec<u32>);

impl Latencies {
    fn record(&mut self, since: Instant) {
        self.0
            .push(since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
    }

    fn merge(all: Vec<Latencies>) -> Latencies {
        let mut merged: Vec<u32> = all.into_iter().flat_map(|l| l.0).collect();
        merged.sort_unstable();
        Latencies(merged)
    }

    /// The `q` quantile in milliseconds (of sorted latencies).
    fn ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.0[i]) / 1000.0
    }

    fn describe(&self) -> String {
        format!(
            "n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
            self.0.len(),
            self.ms(0.5),
            self.ms(0.99),
            self.ms(1.0)
        )
    }
}

struct Server {
    base: String,
    client: HttpClient,
    integrator: HeaderValue,
    investigator: HeaderValue,
}

impl Server {
    /// POSTs an append; the status.
    async fn append(&self, child: &str, events: &[NewEvent]) -> StatusCode {
        let body = serde_json::to_vec(&serde_json::json!({ "events": events })).unwrap();
        let request = Request::post(format!("{}/v1/children/{child}/events", self.base))
            .header(header::AUTHORIZATION, self.integrator.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.send(request).await
    }

    /// GETs the read child's chronology; the status.
    async fn chronology(&self) -> StatusCode {
        let request = Request::get(format!("{}/v1/children/{READ_CHILD}/chronology", self.base))
            .header(header::AUTHORIZATION, self.investigator.clone())
            .header("x-journey-purpose", PURPOSE)
            .body(Full::new(Bytes::new()))
            .unwrap();
        self.send(request).await
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> StatusCode {
        match self.client.request(request).await {
            Ok(response) => {
                let status = response.status();
                // Read the whole body: the request is done when the answer is.
                let _ = response.into_body().collect().await;
                status
            }
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Counts of a phase.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    events: AtomicU64,
    failures: AtomicU64,
}

async fn run(settings: Settings) {
    let dir = tempfile::Builder::new()
        .prefix("journey-load-")
        .tempdir_in(&settings.dir)
        .unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path().join("store"), clock.clone()).unwrap());
    let journal = Arc::new(FileJournal::open(dir.path().join("journal"), clock.clone()).unwrap());
    let state = AppState::new(store.clone(), journal.clone(), clock, Config::default());
    let by = PrincipalId::parse("load-bench").unwrap();
    let token = |name: &str, role: Role, agency: Option<&str>| {
        let state = state.clone();
        let journal = journal.clone();
        let by = by.clone();
        let name = name.to_owned();
        let agency = agency.map(|a| a.parse().unwrap());
        async move {
            let created = state
                .keys
                .create(
                    journal.as_ref(),
                    by,
                    NewKey {
                        name: PrincipalId::parse(name).unwrap(),
                        role,
                        agency,
                        reviews_only: false,
                    },
                )
                .await
                .unwrap();
            HeaderValue::from_str(&format!("Bearer {}", created.token)).unwrap()
        }
    };
    let integrator = token("load-integrator", Role::Integrator, Some("la.testshire")).await;
    let investigator = token("load-investigator", Role::Investigator, None).await;

    // The child whose timeline is read: 500 events.
    let mut events = vec![registered("read-e0", "2015-06-01")];
    for i in 1..READ_CHILD_EVENTS {
        let on = format!("{}-{:02}-{:02}", 2016 + i / 60, 1 + (i / 5) % 12, 1 + i % 28);
        events.push(contact(&format!("read-e{i}"), &on));
    }
    for chunk in events.chunks(100) {
        store
            .append(append(READ_CHILD, ExpectedVersion::Any, chunk.to_vec()))
            .await
            .unwrap();
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = journey_api::router(state.clone());
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(settings.clients + settings.readers)
        .build_http();
    let server = Arc::new(Server {
        base: format!("http://{address}"),
        client,
        integrator,
        investigator,
    });
    assert_eq!(
        server.chronology().await,
        StatusCode::OK,
        "the read child's chronology"
    );

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "journey-api load test: {} s a phase, {} integrators, {} investigators, {} cores, store in {}",
        settings.seconds,
        settings.clients,
        settings.readers,
        std::thread::available_parallelism().map_or(0, usize::from),
        dir.path().display()
    );
    println!("load average at start: {}", load.trim());
    let duration = Duration::from_secs(settings.seconds);

    let direct = Target::Store(store.clone());
    let http = Target::Http(server.clone());

    // (a) batches of 10 to 100: first straight into the store, then over HTTP.
    let (direct_batch, _) = appends(&settings, duration, "ab", &direct, batch_size).await;
    let (http_batch, _) = appends(&settings, duration, "hb", &http, batch_size).await;

    // (b) single events, with latencies: straight into the store, then over HTTP while (c) reads.
    let (direct_single, direct_latency) = appends(&settings, duration, "as", &direct, |_| 1).await;
    // (c) timeline reads alone, then while (b) runs over HTTP.
    let idle_reads = reads(&server, settings.readers, duration).await;
    let reading = {
        let server = server.clone();
        let readers = settings.readers;
        tokio::spawn(async move { reads(&server, readers, duration).await })
    };
    let (http_single, http_latency) = appends(&settings, duration, "hs", &http, |_| 1).await;
    let busy_reads = reading.await.unwrap();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
    println!();
    println!("| measure | straight to the store | over HTTP | HTTP / store | target | met |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| (a) events/s in batches of 10–100 | {:.0} | {:.0} | {:.2} | ≥ 20,000 | {} |",
        direct_batch.rate,
        http_batch.rate,
        http_batch.rate / direct_batch.rate,
        met(http_batch.rate >= 20_000.0)
    );
    println!(
        "| (a) requests/s | {:.0} | {:.0} | {:.2} | | |",
        direct_batch.request_rate,
        http_batch.request_rate,
        http_batch.request_rate / direct_batch.request_rate
    );
    println!(
        "| (b) single-event appends/s (while (c) reads) | {:.0} | {:.0} | {:.2} | ≥ 5,000 | {} |",
        direct_single.rate,
        http_single.rate,
        http_single.rate / direct_single.rate,
        met(http_single.rate >= 5_000.0)
    );
    println!(
        "| (b) append latency p50 / p99 | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} (p99) | p99 < 20 ms | {} |",
        direct_latency.ms(0.5),
        direct_latency.ms(0.99),
        http_latency.ms(0.5),
        http_latency.ms(0.99),
        http_latency.ms(0.99) / direct_latency.ms(0.99),
        met(http_latency.ms(0.99) < 20.0)
    );
    println!(
        "| (c) chronology of a {READ_CHILD_EVENTS}-event child, p50 / p99 (idle → under (b)) | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} (p99) | p99 < 10 ms | {} |",
        idle_reads.ms(0.5),
        idle_reads.ms(0.99),
        busy_reads.ms(0.5),
        busy_reads.ms(0.99),
        busy_reads.ms(0.99) / idle_reads.ms(0.99),
        met(busy_reads.ms(0.99) < 10.0)
    );
    println!();
    println!("detail:");
    println!(
        "  (a) store: {} | HTTP: {}",
        direct_batch.describe(),
        http_batch.describe()
    );
    println!(
        "  (b) store: {} [{}] | HTTP: {} [{}]",
        direct_single.describe(),
        direct_latency.describe(),
        http_single.describe(),
        http_latency.describe()
    );
    println!(
        "  (c) idle reads over HTTP: [{}] | under (b): [{}] (reads/s idle {:.0}, under load {:.0})",
        idle_reads.describe(),
        busy_reads.describe(),
        idle_reads.0.len() as f64 / settings.seconds as f64,
        busy_reads.0.len() as f64 / settings.seconds as f64
    );
    println!(
        "  store commits: {}, events: {}, appends: {}",
        store.stats().commits.load(Ordering::Relaxed),
        store.stats().events.load(Ordering::Relaxed),
        store.stats().appends.load(Ordering::Relaxed)
    );

    server_task.abort();
    let _ = server_task.await;
    drop((direct, http, server));
    drop(state);
    journal.close().unwrap();
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().unwrap(),
        Err(_) => eprintln!("(the store is still shared; left to drop)"),
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

struct Rate {
    rate: f64,
    request_rate: f64,
    failures: u64,
    seconds: f64,
}

impl Rate {
    fn describe(&self) -> String {
        format!(
            "{:.0} events/s, {:.0} requests/s over {:.1} s, {} failed",
            self.rate, self.request_rate, self.seconds, self.failures
        )
    }
}

impl Rate {
    fn of(counts: &Counts, elapsed: Duration) -> Rate {
        let seconds = elapsed.as_secs_f64();
        Rate {
            rate: counts.events.load(Ordering::Relaxed) as f64 / seconds,
            request_rate: counts.requests.load(Ordering::Relaxed) as f64 / seconds,
            failures: counts.failures.load(Ordering::Relaxed),
            seconds,
        }
    }
}

/// Where the appends go.
#[derive(Clone)]
enum Target {
    /// Straight through `EventStore::append`.
    Store(Arc<EmbeddedStore>),
    /// `POST /v1/children/{id}/events` with an integrator's key.
    Http(Arc<Server>),
}

impl Target {
    async fn append(&self, child: &str, events: Vec<NewEvent>) -> bool {
        match self {
            Target::Store(store) => store
                .append(append(child, ExpectedVersion::Any, events))
                .await
                .is_ok(),
            Target::Http(server) => server.append(child, &events).await == StatusCode::CREATED,
        }
    }
}

/// `settings.clients` integrators append to `target` until `duration` is up, each request of `size(n)`
/// events; the rate and the latencies of every request.
async fn appends(
    settings: &Settings,
    duration: Duration,
    tag: &str,
    target: &Target,
    size: fn(u64) -> usize,
) -> (Rate, Latencies) {
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::new();
    for client in 0..settings.clients {
        let counts = counts.clone();
        let target = target.clone();
        let mut writer = Writer::new(format!("{tag}{client}"));
        handles.push(tokio::spawn(async move {
            let mut latencies = Latencies::default();
            let mut n = client as u64;
            while Instant::now() < deadline {
                let size = size(n);
                n += 1;
                let (child, events) = writer.next(size);
                let began = Instant::now();
                let ok = target.append(&child, events).await;
                latencies.record(began);
                counts.requests.fetch_add(1, Ordering::Relaxed);
                if ok {
                    counts.events.fetch_add(size as u64, Ordering::Relaxed);
                } else {
                    counts.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.push(handle.await.unwrap());
    }
    (Rate::of(&counts, start.elapsed()), Latencies::merge(all))
}

/// `readers` investigators read the chronology until `duration` is up; the latencies of the reads that
/// succeeded (failures are counted and printed).
async fn reads(server: &Arc<Server>, readers: usize, duration: Duration) -> Latencies {
    let deadline = Instant::now() + duration;
    let failures = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..readers {
        let server = server.clone();
        let failures = failures.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Latencies::default();
            while Instant::now() < deadline {
                let began = Instant::now();
                if server.chronology().await == StatusCode::OK {
                    latencies.record(began);
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.push(handle.await.unwrap());
    }
    let failures = failures.load(Ordering::Relaxed);
    if failures > 0 {
        println!("  ({failures} chronology reads failed)");
    }
    Latencies::merge(all)
}
