//! Prometheus metrics, kept by hand (a few counters and one histogram do not need a registry crate) and
//! rendered in the text exposition format at `/metrics`.
//!
//! Handlers outside this crate's core routes (the policy routes) record through the public methods:
//! [`Metrics::record_policy_evaluation`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the request latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The store's group-commit counters, as a closure reads them (the store behind the trait object has no
/// stats method; `journey serve` passes one for the embedded store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Group commits (one write and one `fdatasync` each).
    pub commits: u64,
    /// Events written by them.
    pub events: u64,
    /// Appends (requests) written by them.
    pub appends: u64,
}

type StatsSource = Box<dyn Fn() -> StoreStats + Send + Sync>;

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Policy {
    evaluations: BTreeMap<String, u64>,
    fuel: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// (route, method, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → latency histogram.
    latency: Mutex<BTreeMap<String, Histogram>>,
    events_appended: AtomicU64,
    appends: Mutex<BTreeMap<&'static str, u64>>,
    access_records: AtomicU64,
    /// policy → its evaluations by outcome, and fuel.
    policies: Mutex<BTreeMap<String, Policy>>,
    store_stats: Mutex<Option<StatsSource>>,
    /// Connections being served (`crate::server`).
    connections_open: AtomicU64,
    /// Connections closed by the server, by why: `idle`, `slow_head`, `make_room`.
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    accept_errors: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Where the store's group-commit counters come from.
    pub fn set_store_stats(&self, source: impl Fn() -> StoreStats + Send + Sync + 'static) {
        *lock(&self.store_stats) = Some(Box::new(source));
    }

    pub fn record_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        *lock(&self.requests)
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency.entry(route.to_owned()).or_default();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// One append request's outcome: `written` (with its event count), `already_recorded`, `conflict`,
    /// `invalid`, `error`.
    pub fn record_append(&self, outcome: &'static str, events: u64) {
        *lock(&self.appends).entry(outcome).or_default() += 1;
        if outcome == "written" {
            self.events_appended.fetch_add(events, Ordering::Relaxed);
        }
    }

    pub fn record_access(&self) {
        self.access_records.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was accepted (`opened`) or ended (`!opened`).
    pub fn record_connection(&self, opened: bool) {
        if opened {
            self.connections_open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.connections_open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The server closed a connection: `idle`, `slow_head` (a request head too slow) or `make_room` (at the
    /// connection cap).
    pub fn record_connection_closed(&self, why: &'static str) {
        *lock(&self.connections_closed).entry(why).or_default() += 1;
    }

    pub fn record_accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// One evaluation of a policy: its outcome (`ok`, `error`, `out_of_fuel`...) and the fuel it consumed.
    pub fn record_policy_evaluation(&self, policy: &str, outcome: &str, fuel: u64) {
        let mut policies = lock(&self.policies);
        let p = policies.entry(policy.to_owned()).or_default();
        *p.evaluations.entry(outcome.to_owned()).or_default() += 1;
        p.fuel += fuel;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP journey_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE journey_http_requests_total counter\n");
        for ((route, method, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "journey_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        out.push_str("# HELP journey_http_request_duration_seconds Time to the response's head, by route.\n");
        out.push_str("# TYPE journey_http_request_duration_seconds histogram\n");
        for (route, h) in lock(&self.latency).iter() {
            let route = escape(route);
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "journey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "journey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "journey_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "journey_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP journey_appends_total Append requests by outcome.\n");
        out.push_str("# TYPE journey_appends_total counter\n");
        for (outcome, n) in lock(&self.appends).iter() {
            let _ = writeln!(out, "journey_appends_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP journey_events_appended_total Events newly written through the API.\n");
        out.push_str("# TYPE journey_events_appended_total counter\n");
        let _ = writeln!(
            out,
            "journey_events_appended_total {}",
            self.events_appended.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP journey_access_records_total Reads of children's records written to the access log.\n",
        );
        out.push_str("# TYPE journey_access_records_total counter\n");
        let _ = writeln!(
            out,
            "journey_access_records_total {}",
            self.access_records.load(Ordering::Relaxed)
        );
        out.push_str("# HELP journey_http_connections Connections being served.\n");
        out.push_str("# TYPE journey_http_connections gauge\n");
        let _ = writeln!(
            out,
            "journey_http_connections {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP journey_http_connections_closed_total Connections the server closed: idle, slow_head (a \
             request head too slow) or make_room (at the connection cap).\n",
        );
        out.push_str("# TYPE journey_http_connections_closed_total counter\n");
        for (why, n) in lock(&self.connections_closed).iter() {
            let _ = writeln!(
                out,
                "journey_http_connections_closed_total{{reason=\"{why}\"}} {n}"
            );
        }
        out.push_str("# HELP journey_http_accept_errors_total Failed accepts (such as running out of file descriptors).\n");
        out.push_str("# TYPE journey_http_accept_errors_total counter\n");
        let _ = writeln!(
            out,
            "journey_http_accept_errors_total {}",
            self.accept_errors.load(Ordering::Relaxed)
        );
        if let Some(source) = lock(&self.store_stats).as_ref() {
            let s = source();
            out.push_str(
                "# HELP journey_store_commits_total Group commits (one write and one fdatasync each).\n",
            );
            out.push_str("# TYPE journey_store_commits_total counter\n");
            let _ = writeln!(out, "journey_store_commits_total {}", s.commits);
            out.push_str("# HELP journey_store_committed_events_total Events written by group commits.\n");
            out.push_str("# TYPE journey_store_committed_events_total counter\n");
            let _ = writeln!(out, "journey_store_committed_events_total {}", s.events);
            out.push_str("# HELP journey_store_committed_appends_total Appends written by group commits.\n");
            out.push_str("# TYPE journey_store_committed_appends_total counter\n");
            let _ = writeln!(out, "journey_store_committed_appends_total {}", s.appends);
            out.push_str("# HELP journey_store_commit_batch_events Mean events per group commit so far.\n");
            out.push_str("# TYPE journey_store_commit_batch_events gauge\n");
            let mean = if s.commits == 0 {
                0.0
            } else {
                s.events as f64 / s.commits as f64
            };
            let _ = writeln!(out, "journey_store_commit_batch_events {mean}");
        }
        out.push_str("# HELP journey_policy_evaluations_total Policy evaluations by policy and outcome.\n");
        out.push_str("# TYPE journey_policy_evaluations_total counter\n");
        let policies = lock(&self.policies);
        for (policy, p) in policies.iter() {
            for (outcome, n) in &p.evaluations {
                let _ = writeln!(
                    out,
                    "journey_policy_evaluations_total{{policy=\"{}\",outcome=\"{}\"}} {n}",
                    escape(policy),
                    escape(outcome)
                );
            }
        }
        out.push_str(
            "# HELP journey_policy_fuel_consumed_total WebAssembly fuel consumed by policy evaluations.\n",
        );
        out.push_str("# TYPE journey_policy_fuel_consumed_total counter\n");
        for (policy, p) in policies.iter() {
            let _ = writeln!(
                out,
                "journey_policy_fuel_consumed_total{{policy=\"{}\"}} {}",
                escape(policy),
                p.fuel
            );
        }
        out
    }
}

/// Whether the node is ready (`journey_ready`, 1 or 0) and, when it is not, which parts stop it
/// (`journey_unready{part="store"}`...), from [`crate::AppState::unready`].
pub fn render_readiness(unready: &[(&str, String)]) -> String {
    let mut out = String::new();
    out.push_str("# HELP journey_ready Whether the node can serve (1) or not (0), as /readyz says.\n");
    out.push_str("# TYPE journey_ready gauge\n");
    let _ = writeln!(out, "journey_ready {}", u8::from(unready.is_empty()));
    out.push_str(
        "# HELP journey_unready Parts that stop the node from serving (shutdown, store, journal); 1 while they do.\n",
    );
    out.push_str("# TYPE journey_unready gauge\n");
    for part in ["shutdown", "store", "journal"] {
        let down = unready.iter().any(|(p, _)| *p == part);
        let _ = writeln!(out, "journey_unready{{part=\"{part}\"}} {}", u8::from(down));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_policy_fuel() {
        let m = Metrics::new();
        m.record_request(
            "/v1/children/{child_id}/events",
            "POST",
            201,
            Duration::from_millis(3),
        );
        m.record_append("written", 5);
        m.record_policy_evaluation("timescales", "ok", 1200);
        m.set_store_stats(|| StoreStats {
            commits: 2,
            events: 10,
            appends: 4,
        });
        let text = m.render();
        assert!(text.contains(
            "journey_http_requests_total{route=\"/v1/children/{child_id}/events\",method=\"POST\",status=\"201\"} 1"
        ));
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.0025\"} 0"), "{text}");
        assert!(text.contains("journey_events_appended_total 5"));
        assert!(text.contains("journey_policy_fuel_consumed_total{policy=\"timescales\"} 1200"));
        assert!(text.contains("journey_store_commit_batch_events 5"));
    }
}
