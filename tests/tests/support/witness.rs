//! A witness (`journey_witness`, as `journey witness run` runs it) watching a [`ServedLog`] over HTTP.

use std::sync::Arc;

use journey_core::proof::Witness as ConfiguredWitness;
use journey_witness::client::LogClient;
use journey_witness::poll::{PollOutcome, poll_once};
use journey_witness::{SystemClock, Witness, WitnessConfig};

use super::served_log::ServedLog;

/// The bearer key the witness presents: the adversary's front can tell it from other clients by it.
pub const WITNESS_TOKEN: &str = "jk_witness_partnership";
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A witness's key and state directory, made before the log so the log can be configured to accept it.
pub struct WitnessKey {
    dir: tempfile::TempDir,
    configured: ConfiguredWitness,
}

impl WitnessKey {
    pub fn new() -> WitnessKey {
        let dir = tempfile::tempdir().unwrap();
        let vkey =
            journey_witness::keys::generate_key("partnership.example/witness", &dir.path().join("w.key"))
                .unwrap();
        let configured = ConfiguredWitness::new("the partnership", &vkey.to_string()).unwrap();
        WitnessKey { dir, configured }
    }

    /// The witness as the log's server is configured to accept it.
    pub fn configured(&self) -> ConfiguredWitness {
        self.configured.clone()
    }

    /// The witness, watching `log`, with consistency proofs from `proofs` (`tiles` or `endpoint`).
    pub fn watch(self, log: &ServedLog, proofs: &str) -> Watching {
        std::fs::write(self.dir.path().join("log.token"), WITNESS_TOKEN).unwrap();
        let config = WitnessConfig::parse(
            &format!(
                "key_file = \"w.key\"\nstate_dir = \"state\"\n[[log]]\norigin = \"{}\"\nvkey = \"{}\"\n\
                 url = \"{}\"\nbearer_key_file = \"log.token\"\nproofs = \"{proofs}\"\n",
                log.origin(0),
                log.vkey(),
                log.url(),
            ),
            self.dir.path(),
        )
        .unwrap();
        let witness = journey_witness::daemon::open(&config, Arc::new(SystemClock)).unwrap();
        let client = LogClient::new(&log.url(), config.logs[0].bearer_key.clone(), TIMEOUT);
        Watching {
            witness,
            config,
            client,
            _dir: self.dir,
        }
    }
}

pub struct Watching {
    pub witness: Arc<Witness>,
    pub config: WitnessConfig,
    /// The client the witness polls with (and a reader shown what the witness is shown).
    pub client: LogClient,
    _dir: tempfile::TempDir,
}

impl Watching {
    pub fn poll(&self) -> PollOutcome {
        poll_once(&self.witness, &self.config.logs[0], &self.client)
    }
}
