//! The witness's Prometheus metrics, kept by hand and rendered in the text exposition format at
//! `/metrics`. Alert counters start at zero for every configured origin and kind, so that an alerting rule
//! (`increase(journey_witness_alerts_total[5m]) > 0`) sees the first alert as an increase.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::witness::AlertKind;

#[derive(Debug, Default)]
struct Counters {
    /// (origin, kind) → alerts.
    alerts: BTreeMap<(String, &'static str), u64>,
    /// (origin, mode) → cosignatures made.
    cosignatures: BTreeMap<(String, &'static str), u64>,
    /// (origin, status) → add-checkpoint requests refused.
    refusals: BTreeMap<(String, u16), u64>,
    /// origin → polls that failed (the log unreachable, a tile that did not authenticate, …).
    poll_errors: BTreeMap<String, u64>,
    /// origin → cosignatures the log's server did not accept.
    delivery_errors: BTreeMap<String, u64>,
    /// origin → (size, timestamp) of the last cosigned checkpoint.
    cosigned: BTreeMap<String, (u64, u64)>,
    /// origin → frozen.
    frozen: BTreeMap<String, bool>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

fn lock(m: &Mutex<Counters>) -> std::sync::MutexGuard<'_, Counters> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A label value, escaped as the exposition format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Starts the counters of an origin at zero.
    pub fn register(&self, origin: &str) {
        let mut c = lock(&self.counters);
        for kind in AlertKind::ALL {
            c.alerts.entry((origin.to_owned(), kind.as_str())).or_insert(0);
        }
        for mode in ["poll", "push"] {
            c.cosignatures.entry((origin.to_owned(), mode)).or_insert(0);
        }
        c.poll_errors.entry(origin.to_owned()).or_insert(0);
        c.delivery_errors.entry(origin.to_owned()).or_insert(0);
        c.frozen.entry(origin.to_owned()).or_insert(false);
    }

    pub fn alert(&self, origin: &str, kind: AlertKind) {
        *lock(&self.counters)
            .alerts
            .entry((origin.to_owned(), kind.as_str()))
            .or_insert(0) += 1;
    }

    pub fn cosigned(&self, origin: &str, mode: &'static str, size: u64, timestamp: u64) {
        let mut c = lock(&self.counters);
        *c.cosignatures.entry((origin.to_owned(), mode)).or_insert(0) += 1;
        c.cosigned.insert(origin.to_owned(), (size, timestamp));
    }

    /// The state read at start: the last cosigned size and time.
    pub fn set_cosigned(&self, origin: &str, size: u64, timestamp: u64) {
        lock(&self.counters)
            .cosigned
            .insert(origin.to_owned(), (size, timestamp));
    }

    pub fn refused(&self, origin: &str, status: u16) {
        *lock(&self.counters)
            .refusals
            .entry((origin.to_owned(), status))
            .or_insert(0) += 1;
    }

    pub fn poll_error(&self, origin: &str) {
        *lock(&self.counters)
            .poll_errors
            .entry(origin.to_owned())
            .or_insert(0) += 1;
    }

    pub fn delivery_error(&self, origin: &str) {
        *lock(&self.counters)
            .delivery_errors
            .entry(origin.to_owned())
            .or_insert(0) += 1;
    }

    pub fn set_frozen(&self, origin: &str, frozen: bool) {
        lock(&self.counters).frozen.insert(origin.to_owned(), frozen);
    }

    /// The number of alerts of a kind raised for an origin since the process started.
    pub fn alerts(&self, origin: &str, kind: AlertKind) -> u64 {
        lock(&self.counters)
            .alerts
            .get(&(origin.to_owned(), kind.as_str()))
            .copied()
            .unwrap_or(0)
    }

    /// The text exposition format (0.0.4).
    pub fn render(&self) -> String {
        let c = lock(&self.counters);
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        header(
            &mut out,
            "journey_witness_alerts_total",
            "counter",
            "Misbehaviour seen: rollback, split_view, inconsistent, bad_signature, wrong_origin.",
        );
        for ((origin, kind), n) in &c.alerts {
            let _ = writeln!(
                out,
                "journey_witness_alerts_total{{origin=\"{}\",kind=\"{kind}\"}} {n}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_cosignatures_total",
            "counter",
            "Checkpoints cosigned, by how they came: polled from the log, or pushed to add-checkpoint.",
        );
        for ((origin, mode), n) in &c.cosignatures {
            let _ = writeln!(
                out,
                "journey_witness_cosignatures_total{{origin=\"{}\",mode=\"{mode}\"}} {n}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_add_checkpoint_refusals_total",
            "counter",
            "add-checkpoint requests refused, by status code.",
        );
        for ((origin, status), n) in &c.refusals {
            let _ = writeln!(
                out,
                "journey_witness_add_checkpoint_refusals_total{{origin=\"{}\",status=\"{status}\"}} {n}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_poll_errors_total",
            "counter",
            "Polls that could not be completed (log unreachable, unauthentic tiles, malformed answers).",
        );
        for (origin, n) in &c.poll_errors {
            let _ = writeln!(
                out,
                "journey_witness_poll_errors_total{{origin=\"{}\"}} {n}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_delivery_errors_total",
            "counter",
            "Cosignatures the log's server did not accept (retried at the next poll).",
        );
        for (origin, n) in &c.delivery_errors {
            let _ = writeln!(
                out,
                "journey_witness_delivery_errors_total{{origin=\"{}\"}} {n}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_cosigned_tree_size",
            "gauge",
            "The tree size of the last checkpoint cosigned.",
        );
        for (origin, (size, _)) in &c.cosigned {
            let _ = writeln!(
                out,
                "journey_witness_cosigned_tree_size{{origin=\"{}\"}} {size}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_cosigned_timestamp_seconds",
            "gauge",
            "When the last checkpoint was cosigned (POSIX seconds); a stale value means the log is not seen.",
        );
        for (origin, (_, time)) in &c.cosigned {
            let _ = writeln!(
                out,
                "journey_witness_cosigned_timestamp_seconds{{origin=\"{}\"}} {time}",
                label(origin)
            );
        }
        header(
            &mut out,
            "journey_witness_frozen",
            "gauge",
            "1 when the origin is frozen after an alert: never cosigned until an operator clears it.",
        );
        for (origin, frozen) in &c.frozen {
            let _ = writeln!(
                out,
                "journey_witness_frozen{{origin=\"{}\"}} {}",
                label(origin),
                u8::from(*frozen)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_start_at_zero_and_labels_are_escaped() {
        let m = Metrics::new();
        m.register("a.example/log\"1");
        let text = m.render();
        assert!(
            text.contains(
                "journey_witness_alerts_total{origin=\"a.example/log\\\"1\",kind=\"split_view\"} 0"
            ),
            "{text}"
        );
        m.alert("a.example/log\"1", AlertKind::SplitView);
        m.set_frozen("a.example/log\"1", true);
        let text = m.render();
        assert!(text.contains("kind=\"split_view\"} 1"), "{text}");
        assert!(
            text.contains("journey_witness_frozen{origin=\"a.example/log\\\"1\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE journey_witness_alerts_total counter"));
    }
}
