//! What the workspace's benchmarks share: their knobs, read from the environment, and what they report of
//! the machine and of their own process.

/// The number in the environment variable `name` (underscores allowed, as in `1_000_000`), or `default`
/// when it is not set. Panics, naming the variable, on anything else: a benchmark run with a knob it
/// silently ignored would report numbers for a run nobody asked for.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

/// Whether the environment variable `name` is set to `1`.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// The peak resident memory of this process so far (`VmHWM`), in bytes; `None` where `/proc` does not say.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

/// The load averages over 1, 5 and 15 minutes, as `/proc/loadavg` gives them, or `?`: printed beside
/// every result, since on a shared machine a number means little without the load it was taken under.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_knob_reads_underscores_and_defaults_when_unset() {
        assert_eq!(env_number("JOURNEY_TESTKIT_SURELY_UNSET", 7), 7);
        assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        assert_eq!(load_average().split(' ').count(), 3);
    }
}
