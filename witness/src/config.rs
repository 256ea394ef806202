//! The witness's configuration file (TOML): its key, its state directory, where it listens, and the logs it
//! witnesses.
//!
//! ```toml
//! key_file = "witness.key"             # from `journey witness keygen`; the name inside is the witness's name
//! state_dir = "/var/lib/journey-witness"
//! listen = "0.0.0.0:8380"              # optional: add-checkpoint, monitoring and /metrics
//!
//! [[log]]
//! origin = "journey.council.example/log/01J9ZK3M7Q4F"
//! vkey = "journey.council.example/log/01J9ZK3M7Q4F+ec102742+AYqI…"   # or a list, during a key rotation
//! url = "https://journey.council.example"   # optional: omit for a log that only pushes
//! poll_interval_seconds = 60
//! bearer_key_file = "council.token"          # optional: the API key to read tiles and deliver cosignatures
//! proofs = "tiles"                           # or "endpoint": GET <url>/proof/consistency
//! pin = { size = 1000, root = "/OM0wh4QV…" } # optional: a checkpoint learnt out of band, instead of
//!                                            # trusting the first one seen
//! ```
//!
//! Relative paths are taken from the configuration file's directory. Unknown settings are refused, so a
//! misspelt one never silently falls back to a default.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use journey_tlog::note::KeyType;
use journey_tlog::{Checkpoint, EMPTY_ROOT, Origin, VerifierKey};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The default time between two polls of a log.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// Where the witness gets the consistency proof between the checkpoint it cosigned and a newer one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofSource {
    /// Builds it from the log's C2SP tiles (`GET <url>/tile/…`), each tile authenticated against the new
    /// signed root first: what a standard witness's tiles feeder does.
    Tiles,
    /// Asks the log for it (`GET <url>/proof/consistency?old=M&new=N`, Journey's own route).
    Endpoint,
}

/// An API key the witness presents to a log's server. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerKey(String);

impl BearerKey {
    pub fn new(key: impl Into<String>) -> Result<BearerKey> {
        let key = key.into();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::config(
                "bearer_key",
                "a bearer key is one or more printable ASCII characters without spaces",
            ));
        }
        Ok(BearerKey(key))
    }

    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for BearerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerKey(…)")
    }
}

/// One log the witness watches.
#[derive(Clone, Debug)]
pub struct LogConfig {
    pub origin: Origin,
    /// The log's checkpoint keys (Ed25519 note keys named after the origin): one, or more during a rotation.
    pub keys: Vec<VerifierKey>,
    /// The log's base URL (without a trailing slash): `<url>/checkpoint`, `<url>/tile/…`. `None`: the
    /// witness does not poll this log; the log pushes its checkpoints (`POST /add-checkpoint`).
    pub url: Option<String>,
    pub poll_interval: Duration,
    pub bearer_key: Option<BearerKey>,
    pub proofs: ProofSource,
    /// A checkpoint learnt out of band: the first checkpoint the witness cosigns must extend it.
    pub pin: Option<Checkpoint>,
}

/// The whole configuration, checked.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    pub key_file: PathBuf,
    pub state_dir: PathBuf,
    pub listen: Option<SocketAddr>,
    pub logs: Vec<LogConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    key_file: PathBuf,
    state_dir: PathBuf,
    listen: Option<String>,
    #[serde(default, rename = "log")]
    logs: Vec<RawLog>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    origin: String,
    vkey: OneOrMany,
    url: Option<String>,
    poll_interval_seconds: Option<u64>,
    bearer_key_file: Option<PathBuf>,
    proofs: Option<ProofSource>,
    pin: Option<RawPin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    size: u64,
    root: String,
}

impl WitnessConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<WitnessConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        WitnessConfig::parse(&text, base)
    }

    /// Checks a configuration text, taking relative paths from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<WitnessConfig> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            Error::config(
                "file",
                e.to_string().trim_end().replace('\n', " ").replace("  ", " "),
            )
        })?;
        let listen = raw
            .listen
            .map(|l| {
                l.parse::<SocketAddr>().map_err(|_| {
                    Error::config(
                        "listen",
                        format!("{l:?} is not an address and port such as 0.0.0.0:8380"),
                    )
                })
            })
            .transpose()?;
        if raw.logs.is_empty() {
            return Err(Error::config("log", "name at least one log to witness ([[log]])"));
        }
        let mut logs: Vec<LogConfig> = Vec::new();
        for (i, log) in raw.logs.into_iter().enumerate() {
            let log = parse_log(i, log, base)?;
            if logs.iter().any(|l| l.origin == log.origin) {
                return Err(Error::config(
                    format!("log[{i}].origin"),
                    format!("{} is configured twice", log.origin),
                ));
            }
            logs.push(log);
        }
        Ok(WitnessConfig {
            key_file: base.join(raw.key_file),
            state_dir: base.join(raw.state_dir),
            listen,
            logs,
        })
    }
}

fn parse_log(i: usize, raw: RawLog, base: &Path) -> Result<LogConfig> {
    let field = |name: &str| format!("log[{i}].{name}");
    let origin =
        Origin::parse(raw.origin.clone()).map_err(|e| Error::config(field("origin"), e.to_string()))?;
    let vkeys = match raw.vkey {
        OneOrMany::One(k) => vec![k],
        OneOrMany::Many(ks) => ks,
    };
    if vkeys.is_empty() {
        return Err(Error::config(field("vkey"), "name the log's key"));
    }
    let mut keys = Vec::new();
    for vkey in vkeys {
        let key = VerifierKey::parse(&vkey).map_err(|e| Error::config(field("vkey"), e.to_string()))?;
        if key.key_type() != KeyType::Ed25519 {
            return Err(Error::config(
                field("vkey"),
                format!("{} is not a log's Ed25519 note key (type 0x01)", key.name()),
            ));
        }
        if key.name().as_str() != origin.as_str() {
            return Err(Error::config(
                field("vkey"),
                format!(
                    "the key is named {}, and a log's key is named after its origin {origin}",
                    key.name()
                ),
            ));
        }
        keys.push(key);
    }
    let url = raw
        .url
        .map(|url| {
            let url = url.trim_end_matches('/').to_owned();
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !url.contains(['?', '#', ' ']) => Ok(url),
                _ => Err(Error::config(
                    field("url"),
                    format!("{url:?} is not an http:// or https:// base URL without query or fragment"),
                )),
            }
        })
        .transpose()?;
    let poll_interval = match raw.poll_interval_seconds {
        None => DEFAULT_POLL_INTERVAL,
        Some(0) => {
            return Err(Error::config(field("poll_interval_seconds"), "at least 1 second"));
        }
        Some(s) => Duration::from_secs(s),
    };
    let bearer_key = raw
        .bearer_key_file
        .map(|file| {
            let path = base.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            BearerKey::new(text.trim()).map_err(|_| {
                Error::config(
                    field("bearer_key_file"),
                    format!(
                        "{} must hold one API key: printable ASCII without spaces",
                        path.display()
                    ),
                )
            })
        })
        .transpose()?;
    let pin = raw
        .pin
        .map(|pin| {
            let root: [u8; 32] = base64::engine::general_purpose::STANDARD
                .decode(&pin.root)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::config(field("pin.root"), "the base64 of a 32-byte root hash"))?;
            if pin.size == 0 && root != EMPTY_ROOT {
                return Err(Error::config(
                    field("pin.root"),
                    "the tree of size 0 has the empty tree's root",
                ));
            }
            Ok(Checkpoint {
                origin: origin.clone(),
                size: pin.size,
                root,
            })
        })
        .transpose()?;
    Ok(LogConfig {
        origin,
        keys,
        url,
        poll_interval,
        bearer_key,
        proofs: raw.proofs.unwrap_or(ProofSource::Tiles),
        pin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use journey_tlog::NoteSigner;
    use journey_tlog::note::KeyName;

    fn log_key(origin: &str) -> String {
        NoteSigner::from_seed(KeyName::parse(origin).unwrap(), &[7; 32])
            .verifier_key()
            .to_string()
    }

    fn config(log: &str) -> String {
        format!("key_file = \"w.key\"\nstate_dir = \"state\"\n\n[[log]]\n{log}\n")
    }

    #[test]
    fn a_full_configuration_is_read_with_paths_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("council.token"), "jk_abc123\n").unwrap();
        let vkey = log_key("journey.example/log/1");
        let text = format!(
            "key_file = \"w.key\"\nstate_dir = \"/var/lib/w\"\nlisten = \"127.0.0.1:8380\"\n\n[[log]]\n\
             origin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\nurl = \"https://journey.example/\"\n\
             poll_interval_seconds = 5\nbearer_key_file = \"council.token\"\nproofs = \"endpoint\"\n\
             pin = {{ size = 0, root = \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\" }}\n"
        );
        let config = WitnessConfig::parse(&text, dir.path()).unwrap();
        assert_eq!(config.key_file, dir.path().join("w.key"));
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/w"));
        assert_eq!(config.listen, Some("127.0.0.1:8380".parse().unwrap()));
        let log = &config.logs[0];
        assert_eq!(log.url.as_deref(), Some("https://journey.example"));
        assert_eq!(log.poll_interval, Duration::from_secs(5));
        assert_eq!(log.proofs, ProofSource::Endpoint);
        assert_eq!(
            log.bearer_key.as_ref().unwrap().header_value(),
            "Bearer jk_abc123"
        );
        assert_eq!(log.pin.as_ref().unwrap().size, 0);
        assert!(
            !format!("{config:?}").contains("jk_abc123"),
            "the key is never printed"
        );
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let vkey = log_key("journey.example/log/1");
        let other = log_key("journey.example/log/2");
        let cases = [
            (config(""), "file"),
            (config("origin = \"has space\"\nvkey = \"x\""), "log[0].origin"),
            ("key_file = \"k\"\nstate_dir = \"s\"\n".to_owned(), "log"),
            (
                config(&format!("origin = \"journey.example/log/1\"\nvkey = \"{other}\"")),
                "log[0].vkey",
            ),
            (
                config("origin = \"journey.example/log/1\"\nvkey = \"nonsense\""),
                "log[0].vkey",
            ),
            (
                config(&format!(
                    "origin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\nurl = \"ftp://x\""
                )),
                "log[0].url",
            ),
            (
                config(&format!(
                    "origin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\npoll_interval_seconds = 0"
                )),
                "log[0].poll_interval_seconds",
            ),
            (
                config(&format!(
                    "origin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\npin = {{ size = 0, root = \"AAAA\" }}"
                )),
                "log[0].pin.root",
            ),
            (
                config(&format!(
                    "origin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\npoll = 5"
                )),
                "file",
            ),
            (
                format!(
                    "{}\n[[log]]\norigin = \"journey.example/log/1\"\nvkey = \"{vkey}\"\n",
                    config(&format!("origin = \"journey.example/log/1\"\nvkey = \"{vkey}\""))
                ),
                "log[1].origin",
            ),
        ];
        for (text, field) in cases {
            match WitnessConfig::parse(&text, dir.path()) {
                Err(Error::Config { field: f, rule }) => assert_eq!(f, field, "{rule}\n{text}"),
                other => panic!("{text}\nexpected a refusal naming {field}, got {other:?}"),
            }
        }
        // A cosignature key is not a log key.
        let witness_key =
            journey_tlog::Cosigner::from_seed(KeyName::parse("journey.example/log/1").unwrap(), &[1; 32])
                .verifier_key();
        let text = config(&format!(
            "origin = \"journey.example/log/1\"\nvkey = \"{witness_key}\""
        ));
        assert!(matches!(
            WitnessConfig::parse(&text, dir.path()),
            Err(Error::Config { field, .. }) if field == "log[0].vkey"
        ));
    }
}
