//! The policy host: one engine, each policy compiled once, a fresh sandboxed instance per evaluation.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    WasmBacktraceDetails,
};

use crate::bindings::{PolicyPlugin, PolicyPluginPre, wit};
use crate::output::Checker;
use crate::sandbox::{Log, MemoryLimitExceeded, RANDOM_SEED, Sandbox};
use crate::{Decisions, Digest, PluginError, PolicyInput, Refusal};

/// The version of the `journey:policy` contract this host implements (the WIT package version).
pub const CONTRACT_VERSION: &str = "1.0.0";

/// The interface a policy must export.
pub const CONTRACT_INTERFACE: &str = "journey:policy/policy@1.0.0";

const CONTRACT_PREFIX: &str = "journey:policy/policy@";

/// The largest WebAssembly stack a policy may use (deep recursion traps with a stack overflow).
const MAX_WASM_STACK: usize = 1 << 20;

/// The exact wasmtime version, from `Cargo.lock` (see `build.rs`).
const WASMTIME_VERSION: &str = env!("JOURNEY_WASMTIME_VERSION");

/// What one evaluation may use. Every limit produces its own [`PluginError`] when exceeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Units of fuel (roughly one per WebAssembly instruction): the deterministic budget. The same policy
    /// and input always use the same fuel, so a policy that fits once fits every time.
    pub fuel: u64,
    /// The largest size any linear memory of the policy may grow to.
    pub memory_bytes: usize,
    /// Wall-clock backstop (epoch interruption), for what fuel does not count (time in host calls).
    pub deadline: Duration,
    /// The largest output accepted, measured as its canonical JSON.
    pub output_bytes: usize,
    /// How much of stdout and of stderr is kept (each); the rest is dropped.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel: 1_000_000_000,
            memory_bytes: 64 << 20,
            deadline: Duration::from_secs(2),
            output_bytes: 1 << 20,
            log_bytes: 64 << 10,
        }
    }
}

/// How a [`Host`] is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    pub limits: Limits,
    /// How often the engine's epoch advances: the resolution of [`Limits::deadline`].
    pub epoch_tick: Duration,
    /// How many evaluations may run at once. Instances come from a pool of this many slots, set up when the
    /// host starts (address space is reserved for every slot's memories, and a slot's memory mappings are
    /// reused from one instance to the next); an evaluation that finds every slot taken waits for one.
    pub concurrent_evaluations: u32,
    /// How much of each linear memory a slot keeps resident after an instance, zeroed with `memset`
    /// instead of being given back to the kernel: the next instance then does not fault those pages in.
    pub memory_keep_resident: usize,
    /// Reset only the pages an instance wrote (Linux 6.7's `PAGEMAP_SCAN`) instead of `memset`ting the whole
    /// kept-resident part of each memory: ≈ 55 µs less per evaluation of a reference policy. Off unless an
    /// operator turns it on, and refused where swap is on: the scan skips a written page that has been
    /// swapped out, neither resetting nor decommitting it, so the next evaluation in that slot could read
    /// the previous child's data (wasmtime 48, bytecodealliance/wasmtime#14357). Only for hosts that never
    /// swap (a Kubernetes node, for example).
    pub reset_dirty_pages_only: bool,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            limits: Limits::default(),
            epoch_tick: Duration::from_millis(10),
            concurrent_evaluations: 32,
            memory_keep_resident: 4 << 20,
            reset_dirty_pages_only: false,
        }
    }
}

/// The settings that can change what a policy computes, recorded as evidence with every decision (their
/// SHA-256 is [`Host::engine_config_hash`]). The deadline and the log limit are not among them: they decide
/// only whether an evaluation is cut short and how much of its log is kept, never its output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSettings {
    pub contract: String,
    pub wasmtime: String,
    pub cranelift_nan_canonicalization: bool,
    pub relaxed_simd: bool,
    pub relaxed_simd_deterministic: bool,
    /// wasmtime is built without its `threads` feature: shared memories and atomics waits cannot be used.
    pub threads: bool,
    pub max_wasm_stack: usize,
    pub fuel: u64,
    pub memory_bytes: usize,
    pub output_bytes: usize,
    pub wasi: WasiSettings,
}

/// What WASI gives a policy (see `sandbox.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasiSettings {
    pub wall_clock: String,
    pub monotonic_clock_ns: u64,
    pub random: String,
    pub environment: Vec<String>,
    pub arguments: Vec<String>,
    pub preopened_directories: Vec<String>,
    pub network: String,
    pub stdin: String,
}

/// What a policy says about itself (its `about` export), checked when it is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub name: String,
    pub kind: PolicyKind,
    pub version: String,
    pub contract_version: String,
    pub summary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    LevelOfNeed,
    StepUpStepDown,
    CareLeaverEntitlements,
    StatutoryTimescales,
    Other,
}

/// A compiled, type-checked policy, ready to instantiate. Cheap to share.
pub struct LoadedPolicy {
    digest: Digest,
    info: PolicyInfo,
    pre: PolicyPluginPre<Sandbox>,
}

impl LoadedPolicy {
    /// SHA-256 of the component's bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn info(&self) -> &PolicyInfo {
        &self.info
    }
}

impl fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPolicy")
            .field("digest", &self.digest)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What a policy answered ([`Host::answer`]): an [`Evaluation`] without the evidence hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub decisions: Decisions,
    /// The canonical encoding of `decisions` (compact JSON, fields in declaration order).
    pub output: Vec<u8>,
    pub fuel_used: u64,
    pub log: Log,
}

/// One evaluation's result and its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub decisions: Decisions,
    /// The canonical encoding of `decisions` (compact JSON, fields in declaration order): what a replay
    /// compares byte for byte.
    #[serde(skip)]
    pub output: Vec<u8>,
    pub output_hash: Digest,
    pub fuel_used: u64,
    pub log: Log,
    pub policy_hash: Digest,
    pub input_hash: Digest,
    pub engine_config_hash: Digest,
}

/// The policy host. Create one per process and share it (`Host` is `Send + Sync`); evaluations may run on
/// many threads at once (in `spawn_blocking` from async code: an evaluation is CPU-bound).
pub struct Host {
    engine: Engine,
    linker: Linker<Sandbox>,
    config: HostConfig,
    settings: EngineSettings,
    settings_hash: Digest,
    policies: Mutex<HashMap<Digest, Arc<LoadedPolicy>>>,
    slots: Slots,
    _ticker: Ticker,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("config", &self.config)
            .field("engine_config_hash", &self.settings_hash)
            .finish_non_exhaustive()
    }
}

impl Host {
    pub fn new(config: HostConfig) -> Result<Host, PluginError> {
        if config.reset_dirty_pages_only
            && let Some(swap) = active_swap()
        {
            return Err(PluginError::Host(format!(
                "reset_dirty_pages_only is refused while swap is on ({swap}): a swapped-out page would escape \
                 the reset between evaluations"
            )));
        }
        let mut c = Config::new();
        c.consume_fuel(true)
            .epoch_interruption(true)
            // Determinism: NaNs have one bit pattern whatever the CPU; relaxed SIMD (whose results may differ
            // between CPUs) is refused, and would be deterministic if it were ever enabled.
            .cranelift_nan_canonicalization(true)
            .wasm_relaxed_simd(false)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(MAX_WASM_STACK)
            // Backtraces name functions but do not read the WASMTIME_BACKTRACE_DETAILS environment variable.
            .wasm_backtrace_details(WasmBacktraceDetails::Disable)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(&config)));
        let engine = Engine::new(&c).map_err(|e| PluginError::Host(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| PluginError::Host(format!("{e:#}")))?;
        let settings = EngineSettings {
            contract: format!("journey:policy@{CONTRACT_VERSION}"),
            wasmtime: WASMTIME_VERSION.to_string(),
            cranelift_nan_canonicalization: true,
            relaxed_simd: false,
            relaxed_simd_deterministic: true,
            threads: false,
            max_wasm_stack: MAX_WASM_STACK,
            fuel: config.limits.fuel,
            memory_bytes: config.limits.memory_bytes,
            output_bytes: config.limits.output_bytes,
            wasi: WasiSettings {
                wall_clock: "fixed at 1970-01-01T00:00:00Z".into(),
                monotonic_clock_ns: 0,
                random: format!("fixed: SplitMix64 seed {RANDOM_SEED:#x}, 4096-byte cycle"),
                environment: Vec::new(),
                arguments: Vec::new(),
                preopened_directories: Vec::new(),
                network: "denied".into(),
                stdin: "closed".into(),
            },
        };
        let settings_hash = Digest::of(&serde_json::to_vec(&settings).expect("settings serialise"));
        let ticker = Ticker::start(engine.clone(), config.epoch_tick);
        Ok(Host {
            engine,
            linker,
            settings,
            settings_hash,
            slots: Slots::new(config.concurrent_evaluations),
            config,
            policies: Mutex::new(HashMap::new()),
            _ticker: ticker,
        })
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The settings that can change a result.
    pub fn engine_settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// SHA-256 of the canonical JSON of [`Host::engine_settings`].
    pub fn engine_config_hash(&self) -> Digest {
        self.settings_hash
    }

    /// Compiles, checks and describes a policy, once per distinct content: loading the same bytes again
    /// returns the cached policy without compiling. Checks, in order: a valid component; exporting
    /// `journey:policy/policy` at a 1.x version ([`PluginError::WrongInterface`],
    /// [`PluginError::WrongContract`]); imports the sandbox can satisfy ([`PluginError::Link`]); the exact
    /// contract types; and a sensible answer from `about`.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedPolicy>, PluginError> {
        let digest = Digest::of(bytes);
        if let Some(policy) = self.policies.lock().expect("policy cache lock").get(&digest) {
            return Ok(policy.clone());
        }
        let component =
            Component::new(&self.engine, bytes).map_err(|e| PluginError::Compile(format!("{e:#}")))?;
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        check_contract(&exports)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link(format!("{e:#}")))?;
        // Right name, wrong types: a contract edited without a new version.
        let pre = PolicyPluginPre::new(pre).map_err(|e| PluginError::WrongInterface {
            expected: CONTRACT_INTERFACE,
            found: vec![format!(
                "{} (whose types differ from the contract: {e:#})",
                exports.join(", ")
            )],
        })?;
        let info = self
            .run(&pre, |plugin, store| {
                plugin.journey_policy_policy().call_about(store)
            })?
            .value;
        let info = check_info(info)?;
        let policy = Arc::new(LoadedPolicy { digest, info, pre });
        let mut cache = self.policies.lock().expect("policy cache lock");
        Ok(cache.entry(digest).or_insert(policy).clone())
    }

    /// Evaluates `policy` on `input` in a fresh instance, with the evidence a recorded decision keeps: the
    /// hashes of the policy, the engine settings, the input and the output.
    pub fn evaluate(&self, policy: &LoadedPolicy, input: &PolicyInput) -> Result<Evaluation, PluginError> {
        let answer = self.answer(policy, input)?;
        Ok(Evaluation {
            output_hash: Digest::of(&answer.output),
            decisions: answer.decisions,
            output: answer.output,
            fuel_used: answer.fuel_used,
            log: answer.log,
            policy_hash: policy.digest,
            input_hash: input.digest(),
            engine_config_hash: self.settings_hash,
        })
    }

    /// Evaluates `policy` on `input` in a fresh instance, without hashing the input or the output: what
    /// aggregates over many children (dry runs, the measures) need. Hashing the input is a third of an
    /// evaluation of a 200-event child (docs/performance.md), and nothing keeps those hashes.
    pub fn answer(&self, policy: &LoadedPolicy, input: &PolicyInput) -> Result<Answer, PluginError> {
        let run = input.with_wit(|wit_input| {
            self.run(&policy.pre, |plugin, store| {
                plugin.journey_policy_policy().call_evaluate(store, wit_input)
            })
        })?;
        let log = run.log;
        let decisions = match run.value {
            Ok(decisions) => decisions,
            Err(refusal) => {
                let refusal = match refusal {
                    wit::PolicyError::InvalidParameters(m) => Refusal::InvalidParameters(m),
                    wit::PolicyError::UnsupportedInput(m) => Refusal::UnsupportedInput(m),
                    wit::PolicyError::Failed(m) => Refusal::Failed(m),
                };
                return Err(PluginError::Refused { refusal, log });
            }
        };
        let checker = Checker {
            citable: input.citable_ids(),
        };
        let decisions = match checker.decisions(decisions) {
            Ok(d) => d,
            Err(m) => {
                return Err(PluginError::MalformedOutput {
                    path: m.path,
                    problem: m.problem,
                    log,
                });
            }
        };
        let output = serde_json::to_vec(&decisions).expect("decisions serialise");
        if output.len() > self.config.limits.output_bytes {
            return Err(PluginError::OutputTooLarge {
                size: output.len(),
                limit: self.config.limits.output_bytes,
                log,
            });
        }
        Ok(Answer {
            decisions,
            output,
            fuel_used: run.fuel_used,
            log,
        })
    }

    /// Instantiates `pre` in a fresh store within the limits and calls `call`; classifies any failure.
    fn run<R>(
        &self,
        pre: &PolicyPluginPre<Sandbox>,
        call: impl FnOnce(&PolicyPlugin, &mut Store<Sandbox>) -> wasmtime::Result<R>,
    ) -> Result<Run<R>, PluginError> {
        let limits = &self.config.limits;
        let _slot = self.slots.take();
        let (sandbox, capture) = Sandbox::new(limits.memory_bytes, limits.log_bytes);
        let mut store = Store::new(&self.engine, sandbox);
        store.limiter(|s| &mut s.limiter);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| PluginError::Host(format!("{e:#}")))?;
        store.set_epoch_deadline(self.deadline_ticks());
        let result = pre
            .instantiate(&mut store)
            .and_then(|plugin| call(&plugin, &mut store));
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let log = capture.log();
        match result {
            Ok(value) => Ok(Run {
                value,
                fuel_used,
                log,
            }),
            Err(e) => Err(self.classify(&e, store.data().limiter.refused, log)),
        }
    }

    fn deadline_ticks(&self) -> u64 {
        let tick = self.config.epoch_tick.as_nanos().max(1);
        u64::try_from(self.config.limits.deadline.as_nanos().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn classify(&self, e: &wasmtime::Error, refused_memory: Option<usize>, log: Log) -> PluginError {
        let limits = &self.config.limits;
        if let Some(requested) =
            refused_memory.or_else(|| e.downcast_ref::<MemoryLimitExceeded>().map(|m| m.requested))
        {
            return PluginError::MemoryLimit {
                requested,
                limit: limits.memory_bytes,
                log,
            };
        }
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return PluginError::Trap {
                trap: format!("the policy called exit({}) instead of returning", exit.0),
                detail: format!("{e:?}"),
                log,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel {
                limit: limits.fuel,
                log,
            },
            Some(Trap::Interrupt) => PluginError::DeadlineExceeded {
                limit: limits.deadline,
                log,
            },
            trap => match panic_message(&log.stderr) {
                Some(message) => PluginError::Panic { message, log },
                None => match trap {
                    Some(trap) => PluginError::Trap {
                        trap: trap.to_string(),
                        detail: format!("{e:?}"),
                        log,
                    },
                    None => PluginError::Host(format!("{e:#}")),
                },
            },
        }
    }
}

/// The first active swap area listed in `/proc/swaps`, if any (none where the file does not exist).
fn active_swap() -> Option<String> {
    let swaps = std::fs::read_to_string("/proc/swaps").ok()?;
    swaps
        .lines()
        .skip(1)
        .find_map(|line| line.split_whitespace().next().map(str::to_owned))
}

/// The instance pool. Every evaluation instantiates a fresh component (as without a pool: nothing of one
/// evaluation is visible to the next), but into a slot whose memory mappings already exist: a slot's memory
/// starts again from the component's copy-on-write image, and what it kept resident is zeroed, not
/// unmapped (or, with `reset_dirty_pages_only`, only the pages the instance wrote are reset).
fn pooling(config: &HostConfig) -> PoolingAllocationConfig {
    // A Rust component for wasm32-wasip2 holds a handful of core instances (the policy, the WASI adapter and
    // the canonical ABI's shims), one or two memories and a few tables; the per-component maximums leave room.
    const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
    const MEMORIES_PER_COMPONENT: u32 = 4;
    const TABLES_PER_COMPONENT: u32 = 8;
    let slots = config.concurrent_evaluations.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        // The memory limit is enforced by the store's limiter, which names it in its error; the pool's own
        // maximum only has to be no lower (whole WebAssembly pages).
        .max_memory_size(config.limits.memory_bytes.next_multiple_of(WASM_PAGE))
        .linear_memory_keep_resident(config.memory_keep_resident)
        .table_keep_resident(64 << 10)
        // See `HostConfig::reset_dirty_pages_only`; where the kernel lacks the scan, wasmtime `memset`s.
        .pagemap_scan(if config.reset_dirty_pages_only {
            Enabled::Auto
        } else {
            Enabled::No
        });
    pool
}

const WASM_PAGE: usize = 64 << 10;

/// A counting semaphore over the pool's slots: an evaluation holds one from instantiation to the end of
/// its store, and waits while all are taken (the pool refuses an instance beyond its size).
struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(count: u32) -> Slots {
        Slots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> Slot<'_> {
        let free = self.free.lock().expect("slot lock");
        let mut free = self.freed.wait_while(free, |free| *free == 0).expect("slot lock");
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slot lock") += 1;
        self.0.freed.notify_one();
    }
}

struct Run<R> {
    value: R,
    fuel_used: u64,
    log: Log,
}

/// The component must export `journey:policy/policy` at a 1.x version.
fn check_contract(exports: &[String]) -> Result<(), PluginError> {
    let versions: Vec<&str> = exports
        .iter()
        .filter_map(|n| n.strip_prefix(CONTRACT_PREFIX))
        .collect();
    let major = CONTRACT_VERSION.split('.').next().unwrap_or_default();
    if versions.iter().any(|v| v.split('.').next() == Some(major)) {
        return Ok(());
    }
    match versions.first() {
        Some(v) => Err(PluginError::WrongContract {
            expected: CONTRACT_VERSION,
            found: (*v).to_string(),
        }),
        None => Err(PluginError::WrongInterface {
            expected: CONTRACT_INTERFACE,
            found: exports.to_vec(),
        }),
    }
}

fn check_info(info: wit::PolicyInfo) -> Result<PolicyInfo, PluginError> {
    let bad = |why: String| Err(PluginError::BadPolicyInfo(why));
    if info.name.trim().is_empty() || info.name.len() > 200 {
        return bad(format!("name must be 1 to 200 characters, got {:?}", info.name));
    }
    let semver = |v: &str| {
        let core = v.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if !semver(&info.version) {
        return bad(format!(
            "version must be a semantic version like 1.2.0, got {:?}",
            info.version
        ));
    }
    let major = CONTRACT_VERSION.split('.').next();
    if !semver(&info.contract_version) || info.contract_version.split('.').next() != major {
        return Err(PluginError::WrongContract {
            expected: CONTRACT_VERSION,
            found: info.contract_version,
        });
    }
    Ok(PolicyInfo {
        name: info.name,
        kind: match info.kind {
            wit::PolicyKind::LevelOfNeed => PolicyKind::LevelOfNeed,
            wit::PolicyKind::StepUpStepDown => PolicyKind::StepUpStepDown,
            wit::PolicyKind::CareLeaverEntitlements => PolicyKind::CareLeaverEntitlements,
            wit::PolicyKind::StatutoryTimescales => PolicyKind::StatutoryTimescales,
            wit::PolicyKind::Other => PolicyKind::Other,
        },
        version: info.version,
        contract_version: info.contract_version,
        summary: info.summary,
    })
}

/// The panic message a Rust guest's panic hook wrote to stderr ("thread '...' panicked at src/lib.rs:17:9:
/// <message>"), with its location.
fn panic_message(stderr: &str) -> Option<String> {
    const MARK: &str = "panicked at ";
    let rest = &stderr[stderr.find(MARK)? + MARK.len()..];
    let (location, message) = rest.split_once(":\n")?;
    let message: Vec<&str> = message.lines().take_while(|l| !l.starts_with("note: ")).collect();
    Some(format!("{} (at {location})", message.join("\n").trim()))
}

/// Advances the engine's epoch every tick, so that a store's epoch deadline is a wall-clock deadline.
/// Stopped and joined when the host is dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("journey-policy-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(tick);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch ticker thread");
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:17:9:\nno row for level 8\nnote: run with \
                      `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("no row for level 8 (at src/lib.rs:17:9)")
        );
        assert_eq!(panic_message("just a log line\n"), None);
    }

    #[test]
    fn the_contract_is_checked_by_export_name() {
        let ok = vec!["journey:policy/policy@1.0.0".to_string()];
        assert!(check_contract(&ok).is_ok());
        let later_minor = vec!["journey:policy/policy@1.2.0".to_string()];
        assert!(check_contract(&later_minor).is_ok());
        let future = vec!["journey:policy/policy@2.0.0".to_string()];
        assert!(
            matches!(check_contract(&future), Err(PluginError::WrongContract { found, .. }) if found == "2.0.0")
        );
        let other = vec!["run".to_string()];
        assert!(
            matches!(check_contract(&other), Err(PluginError::WrongInterface { found, .. }) if found == other)
        );
    }

    #[test]
    fn the_contract_version_is_the_wit_package_version() {
        let wit = include_str!("../wit/policy.wit");
        assert!(wit.contains(&format!("package journey:policy@{CONTRACT_VERSION};")));
        assert_eq!(CONTRACT_INTERFACE, format!("{CONTRACT_PREFIX}{CONTRACT_VERSION}"));
    }

    #[test]
    fn the_host_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Host>();
        shared::<Arc<LoadedPolicy>>();
        shared::<PluginError>();
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        let host = Host::new(HostConfig {
            limits: Limits {
                deadline: Duration::from_millis(25),
                ..Limits::default()
            },
            epoch_tick: Duration::from_millis(10),
            ..HostConfig::default()
        })
        .unwrap();
        assert_eq!(host.deadline_ticks(), 3);
    }
}
