//! What a policy's instance lives in: a WASI context with no ambient authority, a memory limiter, and
//! bounded in-memory stdout and stderr.
//!
//! * No preopened directories, no environment variables, no arguments, no network (TCP, UDP and name lookup
//!   all refused), stdin closed.
//! * The wall clock reads 1970-01-01T00:00:00Z and the monotonic clock reads 0, always: a policy that asks
//!   the time gets an obviously meaningless answer instead of one that would differ between runs. "Today" is
//!   the input's evaluation date.
//! * Random numbers (secure and insecure) are a fixed sequence from a fixed seed, identical in every
//!   evaluation: hash maps iterate in the same order every time, and nothing a policy computes can depend on
//!   chance.
//! * stdout and stderr are captured, each up to a byte limit (beyond it, output is dropped, not refused, so
//!   a chatty policy is not broken by its logging), and returned to the author with the evaluation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::random::Deterministic;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The seed of the fixed random sequence (recorded in the engine settings, so that changing it changes the
/// engine-configuration hash).
pub(crate) const RANDOM_SEED: u64 = 0x4a6f_7572_6e65_7921; // "Journey!"

/// What a policy wrote while it ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    pub stdout: String,
    pub stderr: String,
    /// True when either stream was cut at the limit.
    pub truncated: bool,
}

/// The per-evaluation state of a store.
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The two captured streams of one evaluation.
pub(crate) struct Capture {
    stdout: LogPipe,
    stderr: LogPipe,
}

impl Capture {
    pub(crate) fn log(&self) -> Log {
        let (stdout, out_cut) = self.stdout.contents();
        let (stderr, err_cut) = self.stderr.contents();
        Log {
            stdout,
            stderr,
            truncated: out_cut || err_cut,
        }
    }
}

impl Sandbox {
    /// A fresh sandbox: nothing carries over from any other evaluation.
    pub(crate) fn new(memory_bytes: usize, log_bytes: usize) -> (Sandbox, Capture) {
        let capture = Capture {
            stdout: LogPipe::new(log_bytes),
            stderr: LogPipe::new(log_bytes),
        };
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(capture.stdout.clone())
            .stderr(capture.stderr.clone())
            .wall_clock(EpochWallClock)
            .monotonic_clock(FrozenMonotonicClock)
            .secure_random(Deterministic::new(fixed_random_bytes()))
            .insecure_random(Deterministic::new(fixed_random_bytes()))
            .insecure_random_seed(u128::from(RANDOM_SEED))
            .max_random_size(64 * 1024)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let sandbox = Sandbox {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: Limiter::new(memory_bytes),
        };
        (sandbox, capture)
    }
}

/// 4 KiB of SplitMix64 output from [`RANDOM_SEED`]: the cycle every evaluation's random numbers come from.
fn fixed_random_bytes() -> Vec<u8> {
    let mut state = RANDOM_SEED;
    let mut bytes = Vec::with_capacity(4096);
    while bytes.len() < 4096 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes
}

struct EpochWallClock;

impl HostWallClock for EpochWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

// ---------------------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------------------

/// `StoreLimits` for the counts (instances, tables, memories), plus a memory limit that traps at once with
/// a recognisable error instead of letting `memory.grow` fail (a Rust guest would then abort with a less
/// useful message).
pub(crate) struct Limiter {
    memory_bytes: usize,
    inner: StoreLimits,
    /// The size a memory asked to grow to, over the limit.
    pub(crate) refused: Option<usize>,
}

/// The error a refused memory growth traps with.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded: asked for {requested}")]
pub(crate) struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

impl Limiter {
    fn new(memory_bytes: usize) -> Limiter {
        Limiter {
            memory_bytes,
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(64)
                .tables(64)
                .memories(16)
                .table_elements(1_000_000)
                .trap_on_grow_failure(true)
                .build(),
            refused: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.refused = Some(desired);
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested: desired,
                limit: self.memory_bytes,
            }));
        }
        self.inner.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Captured output
// ---------------------------------------------------------------------------------------------------------

/// An in-memory output stream that keeps the first `limit` bytes and silently drops the rest (noting that
/// it did). Unlike wasmtime-wasi's `MemoryOutputPipe`, writing past the limit is not an error, so a policy
/// that logs a lot still gets to finish.
#[derive(Clone)]
struct LogPipe {
    limit: usize,
    buffer: Arc<Mutex<LogBuffer>>,
}

#[derive(Default)]
struct LogBuffer {
    bytes: Vec<u8>,
    truncated: bool,
}

impl LogPipe {
    fn new(limit: usize) -> LogPipe {
        LogPipe {
            limit,
            buffer: Arc::default(),
        }
    }

    fn append(&self, bytes: &[u8]) {
        let mut b = self.buffer.lock().expect("log lock");
        let room = self.limit.saturating_sub(b.bytes.len());
        if bytes.len() > room {
            b.truncated = true;
        }
        b.bytes.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn contents(&self) -> (String, bool) {
        let b = self.buffer.lock().expect("log lock");
        (String::from_utf8_lossy(&b.bytes).into_owned(), b.truncated)
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready, for any amount: what does not fit is dropped in `write`.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_pipes_keep_the_first_bytes_and_note_the_cut() {
        let pipe = LogPipe::new(8);
        pipe.append(b"hello ");
        pipe.append(b"world");
        assert_eq!(pipe.contents(), ("hello wo".to_string(), true));
        let pipe = LogPipe::new(8);
        pipe.append(b"hi");
        assert_eq!(pipe.contents(), ("hi".to_string(), false));
    }

    #[test]
    fn the_random_sequence_is_fixed() {
        assert_eq!(fixed_random_bytes(), fixed_random_bytes());
        assert_eq!(fixed_random_bytes().len(), 4096);
        assert_ne!(fixed_random_bytes()[..8], fixed_random_bytes()[8..16]);
    }
}
