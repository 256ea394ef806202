//! Talking to a log's server: its checkpoint, its tiles, its consistency proofs, and the delivery of
//! cosignatures. Blocking HTTP/1, with a bound on every answer's size.

use std::time::Duration;

use base64::Engine as _;
use journey_tlog::{Hash, NoteSignature, TilePath};

use crate::config::BearerKey;
use crate::error::{Error, Result};

/// The most bytes of a checkpoint the witness reads (a note with 100 signature lines is under 32 KiB).
const MAX_CHECKPOINT: u64 = 64 * 1024;
/// A full tile.
const MAX_TILE: u64 = 8 * 1024;
/// A consistency proof: at most 64 hashes of 45 characters.
const MAX_PROOF: u64 = 4 * 1024;
/// The most a delivery's answer is read.
const MAX_ANSWER: u64 = 16 * 1024;

/// A log's server.
#[derive(Debug)]
pub struct LogClient {
    base: String,
    agent: ureq::Agent,
    bearer: Option<BearerKey>,
}

impl LogClient {
    /// A client of the log at `base` (no trailing slash), presenting `bearer` if given.
    pub fn new(base: &str, bearer: Option<BearerKey>, timeout: Duration) -> LogClient {
        LogClient {
            base: base.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build()
                .into(),
            bearer,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str, limit: u64) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(bearer) = &self.bearer {
            request = request.header("Authorization", bearer.header_value());
        }
        let response = request.call().map_err(|e| Error::Fetch {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| Error::Fetch {
                url,
                reason: format!("reading the answer (at most {limit} bytes): {e}"),
            })?;
        Ok((status, body))
    }

    fn unexpected(&self, path: &str, status: u16, body: &[u8]) -> Error {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Error::Fetch {
            url: format!("{}{path}", self.base),
            reason: format!("status {status}: {}", text.trim()),
        }
    }

    /// `GET <base>/checkpoint`: the log's latest signed checkpoint; `None` when it has signed none yet (404).
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>> {
        match self.get("/checkpoint", MAX_CHECKPOINT)? {
            (200, body) => Ok(Some(body)),
            (404, _) => Ok(None),
            (status, body) => Err(self.unexpected("/checkpoint", status, &body)),
        }
    }

    /// `GET <base>/tile/<L>/<N>[.p/<W>]`. A partial tile the log no longer serves (404: the full tile
    /// exists) is read from the full tile, whose first hashes it is.
    pub fn tile(&self, tile: &TilePath) -> Result<Vec<u8>> {
        let path = format!("/{tile}");
        match self.get(&path, MAX_TILE)? {
            (200, body) => Ok(body),
            (404, _) if tile.is_partial() => {
                let journey_tlog::tiles::TileKind::Hashes { level } = tile.kind() else {
                    return Err(self.unexpected(&path, 404, b""));
                };
                let full = TilePath::hashes(level, tile.index(), 256)?;
                let full_path = format!("/{full}");
                match self.get(&full_path, MAX_TILE)? {
                    (200, mut body) => {
                        body.truncate(usize::from(tile.width()) * 32);
                        Ok(body)
                    }
                    (status, body) => Err(self.unexpected(&full_path, status, &body)),
                }
            }
            (status, body) => Err(self.unexpected(&path, status, &body)),
        }
    }

    /// `GET <base>/proof/consistency?old=M&new=N`: the proof hashes, base64, one per line.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let path = format!("/proof/consistency?old={old}&new={new}");
        let body = match self.get(&path, MAX_PROOF)? {
            (200, body) => body,
            (status, body) => return Err(self.unexpected(&path, status, &body)),
        };
        let malformed = |reason: &str| Error::Fetch {
            url: format!("{}{path}", self.base),
            reason: format!("not a consistency proof: {reason}"),
        };
        let text = std::str::from_utf8(&body).map_err(|_| malformed("not UTF-8"))?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let text = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("the last line does not end with a newline"))?;
        text.split('\n')
            .map(|line| {
                base64::engine::general_purpose::STANDARD
                    .decode(line)
                    .ok()
                    .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                    .ok_or_else(|| malformed("a line is not the base64 of a 32-byte hash"))
            })
            .collect()
    }

    /// `POST <base>/checkpoint/cosignatures`: delivers cosignature lines for a checkpoint the log signed.
    pub fn deliver(&self, cosignatures: &[NoteSignature]) -> Result<()> {
        let url = format!("{}/checkpoint/cosignatures", self.base);
        let body: String = cosignatures.iter().map(NoteSignature::to_line).collect();
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(bearer) = &self.bearer {
            request = request.header("Authorization", bearer.header_value());
        }
        let response = request.send(body.as_bytes()).map_err(|e| Error::Fetch {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let answer = response
            .into_body()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .unwrap_or_default();
        Err(self.unexpected("/checkpoint/cosignatures", status, &answer))
    }
}
