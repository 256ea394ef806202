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

use crate::bindings::{PolicyPluginPreV1, PolicyPluginPreV2, wit1, wit2};
use crate::output::Checker;
use crate::sandbox::{Log, MemoryLimitExceeded, RANDOM_SEED, Sandbox};
use crate::{Decisions, Digest, PluginError, PolicyInput, Refusal};

/// The version of the `journey:policy` contract new policies are built against (the WIT package version of
/// `plugins/wit/policy-2.0.0.wit`, and the SDK's). The host serves every version in [`Contract::ALL`].
pub const CONTRACT_VERSION: &str = Contract::LATEST.version();

/// The interface a policy of the latest contract exports.
pub const CONTRACT_INTERFACE: &str = Contract::LATEST.interface();

/// The contract versions this host serves, in words, for errors.
const SERVED: &str = "1.0.0 or 2.0.0";

const CONTRACT_PREFIX: &str = "journey:policy/policy@";

/// A version of the `journey:policy` contract the host serves. Each is its own WIT package
/// (`plugins/wit/`), and a component exports exactly one of them; the host loads, checks and runs it
/// through that version's bindings and converts its answer into the one [`Decisions`]. A new major version
/// is added here, beside the ones before it, so that every deployed policy and every recorded decision
/// keeps working (`docs/adr/0004-policies-as-components.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Contract {
    /// `journey:policy@1.0.0` (`plugins/wit/policy.wit`): lateness in calendar days (`days-late`).
    V1,
    /// `journey:policy@2.0.0` (`plugins/wit/policy-2.0.0.wit`): lateness in the rule's unit, counting
    /// conventions, completion instants, and retention policies.
    V2,
}

impl Contract {
    /// Every contract the host serves, oldest first.
    pub const ALL: [Contract; 2] = [Contract::V1, Contract::V2];
    /// The contract new policies are built against.
    pub const LATEST: Contract = Contract::V2;

    /// The WIT package version.
    pub const fn version(self) -> &'static str {
        match self {
            Contract::V1 => "1.0.0",
            Contract::V2 => "2.0.0",
        }
    }

    /// The interface a policy of this contract exports.
    pub const fn interface(self) -> &'static str {
        match self {
            Contract::V1 => "journey:policy/policy@1.0.0",
            Contract::V2 => "journey:policy/policy@2.0.0",
        }
    }

    /// The contract whose major version `version` ("2.0.0", "2.1.0") has, if the host serves it.
    fn of(version: &str) -> Option<Contract> {
        let major = version.split('.').next()?;
        Contract::ALL
            .into_iter()
            .find(|c| c.version().split('.').next() == Some(major))
    }

    fn index(self) -> usize {
        self as usize
    }
}

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
    /// Contract 2.0: when the child's record may be destroyed.
    Retention,
    Other,
}

/// A compiled, type-checked policy, ready to instantiate. Cheap to share.
pub struct LoadedPolicy {
    digest: Digest,
    info: PolicyInfo,
    pre: Pre,
}

/// A component pre-instantiated through the bindings of the contract it exports.
enum Pre {
    V1(PolicyPluginPreV1<Sandbox>),
    V2(PolicyPluginPreV2<Sandbox>),
}

impl LoadedPolicy {
    /// SHA-256 of the component's bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn info(&self) -> &PolicyInfo {
        &self.info
    }

    /// The contract the policy exports.
    pub fn contract(&self) -> Contract {
        match self.pre {
            Pre::V1(_) => Contract::V1,
            Pre::V2(_) => Contract::V2,
        }
    }
}

impl fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPolicy")
            .field("digest", &self.digest)
            .field("info", &self.info)
            .field("contract", &self.contract())
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
    /// Per contract ([`Contract::index`]): the contract is one of the settings.
    settings: [EngineSettings; 2],
    settings_hash: [Digest; 2],
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
        let settings = |contract: Contract| EngineSettings {
            contract: format!("journey:policy@{}", contract.version()),
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
        let settings = Contract::ALL.map(settings);
        let settings_hash = settings
            .each_ref()
            .map(|s| Digest::of(&serde_json::to_vec(s).expect("settings serialise")));
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

    /// The settings that can change a result of a policy of `contract`. They differ between contracts only
    /// in naming the contract, so that a 1.0 policy's settings (and their hash, recorded with its decisions)
    /// are what they were before 2.0 existed.
    pub fn engine_settings(&self, contract: Contract) -> &EngineSettings {
        &self.settings[contract.index()]
    }

    /// SHA-256 of the canonical JSON of [`Host::engine_settings`].
    pub fn engine_config_hash(&self, contract: Contract) -> Digest {
        self.settings_hash[contract.index()]
    }

    /// Compiles, checks and describes a policy, once per distinct content: loading the same bytes again
    /// returns the cached policy without compiling. Checks, in order: a valid component; exporting
    /// `journey:policy/policy` at a version the host serves, 1.x or 2.x ([`PluginError::WrongInterface`],
    /// [`PluginError::WrongContract`]); imports the sandbox can satisfy ([`PluginError::Link`]); the exact
    /// contract types; and a sensible answer from `about`.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedPolicy>, PluginError> {
        let digest = Digest::of(bytes);
        if let Some(policy) = self.cached(&digest) {
            return Ok(policy);
        }
        self.compile(digest, bytes)
    }

    /// The policy compiled from the bytes whose SHA-256 is `digest`, if this host has compiled them: a
    /// caller that already knows the hash (the registry names each version's bytes by it) need not read or
    /// hash the bytes again.
    pub fn cached(&self, digest: &Digest) -> Option<Arc<LoadedPolicy>> {
        self.policies
            .lock()
            .expect("policy cache lock")
            .get(digest)
            .cloned()
    }

    fn compile(&self, digest: Digest, bytes: &[u8]) -> Result<Arc<LoadedPolicy>, PluginError> {
        let component =
            Component::new(&self.engine, bytes).map_err(|e| PluginError::Compile(format!("{e:#}")))?;
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let contract = check_contract(&exports)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link(format!("{e:#}")))?;
        // Right name, wrong types: a contract edited without a new version.
        let wrong_types = |e: wasmtime::Error| PluginError::WrongInterface {
            expected: contract.interface(),
            found: vec![format!(
                "{} (whose types differ from the contract: {e:#})",
                exports.join(", ")
            )],
        };
        let (pre, info) = match contract {
            Contract::V1 => {
                let pre = PolicyPluginPreV1::new(pre).map_err(wrong_types)?;
                let info = self
                    .run(|store| {
                        pre.instantiate(&mut *store)?
                            .journey_policy_policy()
                            .call_about(store)
                    })?
                    .value;
                (Pre::V1(pre), info_v1(info))
            }
            Contract::V2 => {
                let pre = PolicyPluginPreV2::new(pre).map_err(wrong_types)?;
                let info = self
                    .run(|store| {
                        pre.instantiate(&mut *store)?
                            .journey_policy_policy()
                            .call_about(store)
                    })?
                    .value;
                (Pre::V2(pre), info_v2(info))
            }
        };
        let info = check_info(info, contract)?;
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
            engine_config_hash: self.engine_config_hash(policy.contract()),
        })
    }

    /// Evaluates `policy` on `input` in a fresh instance, without hashing the input or the output: what
    /// aggregates over many children (dry runs, the measures) need. Hashing the input is a third of an
    /// evaluation of a 200-event child (docs/performance.md), and nothing keeps those hashes.
    pub fn answer(&self, policy: &LoadedPolicy, input: &PolicyInput) -> Result<Answer, PluginError> {
        let checker = Checker {
            citable: input.citable_ids(),
        };
        // Each contract's call and conversion; the checks and the encoding after them are the same.
        let (checked, fuel_used, log) = match &policy.pre {
            Pre::V1(pre) => {
                let run = input.with_wit1(|wit_input| {
                    self.run(|store| {
                        pre.instantiate(&mut *store)?
                            .journey_policy_policy()
                            .call_evaluate(store, wit_input)
                    })
                })?;
                let checked = match run.value {
                    Ok(decisions) => checker.decisions_v1(decisions),
                    Err(refusal) => {
                        return Err(PluginError::Refused {
                            refusal: refusal_v1(refusal),
                            log: run.log,
                        });
                    }
                };
                (checked, run.fuel_used, run.log)
            }
            Pre::V2(pre) => {
                let run = input.with_wit2(|wit_input| {
                    self.run(|store| {
                        pre.instantiate(&mut *store)?
                            .journey_policy_policy()
                            .call_evaluate(store, wit_input)
                    })
                })?;
                let checked = match run.value {
                    Ok(decisions) => checker.decisions_v2(decisions),
                    Err(refusal) => {
                        return Err(PluginError::Refused {
                            refusal: refusal_v2(refusal),
                            log: run.log,
                        });
                    }
                };
                (checked, run.fuel_used, run.log)
            }
        };
        let decisions = match checked {
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
            fuel_used,
            log,
        })
    }

    /// Makes a fresh store within the limits and calls `call` with it (which instantiates the policy and
    /// calls it); classifies any failure.
    fn run<R>(
        &self,
        call: impl FnOnce(&mut Store<Sandbox>) -> wasmtime::Result<R>,
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
        let result = call(&mut store);
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

/// The component must export `journey:policy/policy` at a version the host serves (1.x or 2.x); the latest
/// one it exports is used.
fn check_contract(exports: &[String]) -> Result<Contract, PluginError> {
    let versions: Vec<&str> = exports
        .iter()
        .filter_map(|n| n.strip_prefix(CONTRACT_PREFIX))
        .collect();
    if let Some(contract) = versions.iter().filter_map(|v| Contract::of(v)).max() {
        return Ok(contract);
    }
    match versions.first() {
        Some(v) => Err(PluginError::WrongContract {
            expected: SERVED,
            found: (*v).to_string(),
        }),
        None => Err(PluginError::WrongInterface {
            expected: CONTRACT_INTERFACE,
            found: exports.to_vec(),
        }),
    }
}

/// `about`'s answer, from either contract.
fn info_v1(info: wit1::PolicyInfo) -> PolicyInfo {
    PolicyInfo {
        name: info.name,
        kind: match info.kind {
            wit1::PolicyKind::LevelOfNeed => PolicyKind::LevelOfNeed,
            wit1::PolicyKind::StepUpStepDown => PolicyKind::StepUpStepDown,
            wit1::PolicyKind::CareLeaverEntitlements => PolicyKind::CareLeaverEntitlements,
            wit1::PolicyKind::StatutoryTimescales => PolicyKind::StatutoryTimescales,
            wit1::PolicyKind::Other => PolicyKind::Other,
        },
        version: info.version,
        contract_version: info.contract_version,
        summary: info.summary,
    }
}

fn info_v2(info: wit2::PolicyInfo) -> PolicyInfo {
    PolicyInfo {
        name: info.name,
        kind: match info.kind {
            wit2::PolicyKind::LevelOfNeed => PolicyKind::LevelOfNeed,
            wit2::PolicyKind::StepUpStepDown => PolicyKind::StepUpStepDown,
            wit2::PolicyKind::CareLeaverEntitlements => PolicyKind::CareLeaverEntitlements,
            wit2::PolicyKind::StatutoryTimescales => PolicyKind::StatutoryTimescales,
            wit2::PolicyKind::Retention => PolicyKind::Retention,
            wit2::PolicyKind::Other => PolicyKind::Other,
        },
        version: info.version,
        contract_version: info.contract_version,
        summary: info.summary,
    }
}

fn refusal_v1(e: wit1::PolicyError) -> Refusal {
    match e {
        wit1::PolicyError::InvalidParameters(m) => Refusal::InvalidParameters(m),
        wit1::PolicyError::UnsupportedInput(m) => Refusal::UnsupportedInput(m),
        wit1::PolicyError::Failed(m) => Refusal::Failed(m),
    }
}

fn refusal_v2(e: wit2::PolicyError) -> Refusal {
    match e {
        wit2::PolicyError::InvalidParameters(m) => Refusal::InvalidParameters(m),
        wit2::PolicyError::UnsupportedInput(m) => Refusal::UnsupportedInput(m),
        wit2::PolicyError::Failed(m) => Refusal::Failed(m),
    }
}

/// A sensible `about`: a name, a semantic version, and the contract version of the interface it exports.
fn check_info(info: PolicyInfo, contract: Contract) -> Result<PolicyInfo, PluginError> {
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
    if !semver(&info.contract_version) || Contract::of(&info.contract_version) != Some(contract) {
        return Err(PluginError::WrongContract {
            expected: contract.version(),
            found: info.contract_version,
        });
    }
    Ok(info)
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
        let one = vec!["journey:policy/policy@1.0.0".to_string()];
        assert_eq!(check_contract(&one).unwrap(), Contract::V1);
        let later_minor = vec!["journey:policy/policy@1.2.0".to_string()];
        assert_eq!(check_contract(&later_minor).unwrap(), Contract::V1);
        let two = vec!["journey:policy/policy@2.0.0".to_string()];
        assert_eq!(check_contract(&two).unwrap(), Contract::V2);
        let both = vec![two[0].clone(), one[0].clone()];
        assert_eq!(check_contract(&both).unwrap(), Contract::V2, "the latest served");
        let future = vec!["journey:policy/policy@3.0.0".to_string()];
        assert!(
            matches!(check_contract(&future), Err(PluginError::WrongContract { found, .. }) if found == "3.0.0")
        );
        let other = vec!["run".to_string()];
        assert!(
            matches!(check_contract(&other), Err(PluginError::WrongInterface { found, .. }) if found == other)
        );
    }

    #[test]
    fn each_contract_version_is_its_wit_package_version() {
        for (contract, wit) in [
            (Contract::V1, include_str!("../wit/policy.wit")),
            (Contract::V2, include_str!("../wit/policy-2.0.0.wit")),
        ] {
            assert!(wit.contains(&format!("package journey:policy@{};", contract.version())));
            assert_eq!(
                contract.interface(),
                format!("{CONTRACT_PREFIX}{}", contract.version())
            );
        }
        assert_eq!(CONTRACT_VERSION, "2.0.0");
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
