//! Running the witness: once (for cron and tests), or as a daemon that polls each log at its interval and
//! serves the witness protocol, until it is stopped or, unless told to keep running, until an alert.

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::client::LogClient;
use crate::config::{LogConfig, WitnessConfig};
use crate::error::{Error, Result};
use crate::poll::{PollOutcome, poll_once};
use crate::state::StateDir;
use crate::witness::{Clock, LogTrust, Witness};

/// How long a request to a log may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a run ended, and the process's exit code for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    /// Stopped, or (once) every log checked without an alert: 0.
    Clean,
    /// A log misbehaved, or an origin is frozen: 3.
    Alerted,
    /// (Once) a log could not be checked: 1.
    Failed,
}

impl RunExit {
    pub fn code(self) -> u8 {
        match self {
            RunExit::Clean => 0,
            RunExit::Alerted => 3,
            RunExit::Failed => 1,
        }
    }
}

/// Opens the witness a configuration describes: its key, its state directory (locked), its logs.
pub fn open(config: &WitnessConfig, clock: Arc<dyn Clock>) -> Result<Arc<Witness>> {
    let cosigner = crate::keys::load_key(&config.key_file)?;
    let state = StateDir::open(&config.state_dir)?;
    let logs = config.logs.iter().map(LogTrust::from).collect();
    Ok(Arc::new(Witness::open(cosigner, logs, state, clock)?))
}

fn client(log: &LogConfig) -> Option<LogClient> {
    log.url
        .as_deref()
        .map(|url| LogClient::new(url, log.bearer_key.clone(), REQUEST_TIMEOUT))
}

/// Logs what a poll came to.
fn report(log: &LogConfig, outcome: &PollOutcome) {
    match outcome {
        PollOutcome::Cosigned { size, delivered } => {
            tracing::info!(origin = %log.origin, size, delivered, "polled: new checkpoint cosigned");
        }
        PollOutcome::Unchanged { size } => tracing::debug!(origin = %log.origin, size, "polled: unchanged"),
        PollOutcome::NoCheckpoint => {
            tracing::info!(origin = %log.origin, "polled: the log has no checkpoint yet")
        }
        PollOutcome::Alert(_) => {} // logged at ERROR when raised
        PollOutcome::Frozen(reason) => {
            tracing::error!(origin = %log.origin, "frozen after an alert; not polled until an operator clears it (journey witness unfreeze): {reason}");
        }
        PollOutcome::Failed(e) => {
            tracing::warn!(origin = %log.origin, error = %e, "poll failed; trying again at the next interval")
        }
    }
}

/// Polls every log with a URL once. Exit: `Alerted` if any log misbehaved or is frozen, else `Failed` if any
/// could not be checked, else `Clean`.
pub fn run_once(witness: &Witness, config: &WitnessConfig) -> RunExit {
    let mut exit = RunExit::Clean;
    for log in &config.logs {
        let Some(client) = client(log) else {
            tracing::info!(origin = %log.origin, "no url: this log pushes its checkpoints; nothing to poll");
            if let Some(reason) = witness.frozen(&log.origin) {
                tracing::error!(origin = %log.origin, "frozen after an alert: {reason}");
                exit = RunExit::Alerted;
            }
            continue;
        };
        let outcome = poll_once(witness, log, &client);
        report(log, &outcome);
        match outcome {
            PollOutcome::Alert(_) | PollOutcome::Frozen(_) => exit = RunExit::Alerted,
            PollOutcome::Failed(_) if exit == RunExit::Clean => exit = RunExit::Failed,
            _ => {}
        }
    }
    exit
}

/// How the daemon runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct DaemonOptions {
    /// Go on after an alert (the origin stays frozen); otherwise the daemon stops with [`RunExit::Alerted`].
    pub keep_running: bool,
    /// Stop cleanly on SIGINT and SIGTERM (the command line; not in tests).
    pub handle_signals: bool,
}

/// Where the daemon's threads learn that it is stopping, and why.
#[derive(Debug, Default)]
struct Stop {
    exit: Mutex<Option<RunExit>>,
    changed: Condvar,
    notify: tokio::sync::Notify,
}

impl Stop {
    fn trigger(&self, exit: RunExit) {
        let mut current = self
            .exit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.is_none() {
            *current = Some(exit);
        }
        self.changed.notify_all();
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Waits up to `timeout`; true once stopping.
    fn wait(&self, timeout: Duration) -> bool {
        let current = self
            .exit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (current, _) = self
            .changed
            .wait_timeout_while(current, timeout, |exit| exit.is_none())
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.is_some()
    }

    fn exit(&self) -> Option<RunExit> {
        *self
            .exit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running witness.
#[derive(Debug)]
pub struct Daemon {
    stop: Arc<Stop>,
    address: Option<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

impl Daemon {
    /// Starts the daemon: the HTTP listener (if configured) and one poller per log with a URL. With an origin
    /// already frozen and without `keep_running`, refuses to start ([`RunExit::Alerted`]).
    pub fn start(
        witness: Arc<Witness>,
        config: &WitnessConfig,
        options: DaemonOptions,
    ) -> Result<Daemon, StartError> {
        let frozen: Vec<_> = config
            .logs
            .iter()
            .filter_map(|log| {
                witness
                    .frozen(&log.origin)
                    .map(|reason| (log.origin.clone(), reason))
            })
            .collect();
        for (origin, reason) in &frozen {
            tracing::error!(origin = %origin, "frozen after an alert; an operator must investigate and clear it (journey witness unfreeze): {reason}");
        }
        if !frozen.is_empty() && !options.keep_running {
            return Err(StartError::Frozen);
        }
        let stop = Arc::new(Stop::default());
        if !options.keep_running {
            let on_alert = stop.clone();
            witness.on_alert(move |_| on_alert.trigger(RunExit::Alerted));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| StartError::Failed(Error::io("tokio runtime", e)))?;
        let listener = match config.listen {
            Some(address) => Some(runtime.block_on(tokio::net::TcpListener::bind(address)).map_err(
                |source| {
                    StartError::Failed(Error::Listen {
                        address: address.to_string(),
                        source,
                    })
                },
            )?),
            None => None,
        };
        let address = listener.as_ref().and_then(|l| l.local_addr().ok());
        let mut threads = Vec::new();
        {
            let stop = stop.clone();
            let witness = witness.clone();
            threads.push(std::thread::spawn(move || {
                runtime.block_on(async move {
                    let stopping = {
                        let stop = stop.clone();
                        async move {
                            while stop.exit().is_none() {
                                stop.notify.notified().await;
                            }
                        }
                    };
                    let signals = {
                        let stop = stop.clone();
                        async move {
                            if options.handle_signals {
                                signalled().await;
                                tracing::info!("stopping on a signal");
                                stop.trigger(RunExit::Clean);
                            } else {
                                std::future::pending::<()>().await;
                            }
                        }
                    };
                    let serving = async move {
                        match listener {
                            Some(listener) => {
                                let app = crate::http::router(witness);
                                if let Err(e) = axum::serve(listener, app).await {
                                    tracing::error!(error = %e, "the witness's listener failed");
                                }
                            }
                            None => std::future::pending::<()>().await,
                        }
                    };
                    tokio::select! {
                        () = stopping => {}
                        () = signals => {}
                        () = serving => {}
                    }
                });
            }));
        }
        for log in config.logs.iter().filter(|l| l.url.is_some()) {
            let stop = stop.clone();
            let witness = witness.clone();
            let log = log.clone();
            threads.push(std::thread::spawn(move || {
                let client = client(&log).expect("pollers run for logs with a URL");
                loop {
                    let outcome = poll_once(&witness, &log, &client);
                    report(&log, &outcome);
                    if stop.wait(log.poll_interval) {
                        break;
                    }
                }
            }));
        }
        tracing::info!(
            witness = %witness.verifier_key(),
            logs = config.logs.len(),
            listen = ?address,
            "witness running"
        );
        Ok(Daemon {
            stop,
            address,
            threads,
        })
    }

    /// The address the HTTP listener is bound to.
    pub fn address(&self) -> Option<SocketAddr> {
        self.address
    }

    /// Asks the daemon to stop cleanly.
    pub fn stop(&self) {
        self.stop.trigger(RunExit::Clean);
    }

    /// Waits until the daemon stops; gives why.
    pub fn wait(self) -> RunExit {
        while !self.stop.wait(Duration::from_secs(3600)) {}
        for thread in self.threads {
            let _ = thread.join();
        }
        self.stop.exit().unwrap_or(RunExit::Clean)
    }
}

/// Why the daemon did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("an origin is frozen after an alert")]
    Frozen,
    #[error(transparent)]
    Failed(#[from] Error),
}

async fn signalled() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
