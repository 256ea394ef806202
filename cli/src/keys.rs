//! `journey keys create|list|revoke`: API keys, kept in the system journal's `keys` stream of a data
//! directory. The journal is locked by a running server, so these work on a stopped server's data
//! directory; with the server running, an admin key does the same over HTTP (`POST /v1/keys`,
//! `GET /v1/keys`, `POST /v1/keys/{key_id}/revoke`).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use futures::executor::block_on;
use journey_api::{KeyRing, NewKey, Role};
use journey_core::{AgencyId, PrincipalId, SystemClock};
use journey_embedded::FileJournal;

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The data directory (the keys live in its journal, `<data>/journal`).
    #[arg(long, env = "JOURNEY_DATA", default_value = "./data", global = true)]
    data: PathBuf,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print its token, once: only the token's hash is stored.
    Create {
        /// integrator, policy-author, investigator, records-officer, admin or sealed-records.
        #[arg(long)]
        role: Role,
        /// Who or what the key is for; shown as `recorded_by` and in the access log.
        #[arg(long)]
        name: PrincipalId,
        /// The agency an integrator's key writes for (integrators only).
        #[arg(long)]
        agency: Option<AgencyId>,
        /// Scope an investigator's key to reviews: it reads only the children of the reviews that name it.
        #[arg(long)]
        reviews_only: bool,
        /// Print the key as JSON (with the token) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List every key (never a secret or hash).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        key_id: String,
        /// Why, for the journal.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// The principal the CLI records key changes as: the operator at the machine.
fn operator() -> PrincipalId {
    PrincipalId::parse("cli").expect("valid principal")
}

pub fn journal_dir(data: &Path) -> PathBuf {
    data.join("journal")
}

fn open_journal(data: &Path) -> anyhow::Result<FileJournal> {
    let dir = journal_dir(data);
    FileJournal::open(&dir, Arc::new(SystemClock)).map_err(|e| match &e {
        journey_core::Error::Io(io) if io.kind() == ErrorKind::WouldBlock => anyhow!(
            "{} is in use, probably by a running `journey serve`: stop it first, or manage keys over HTTP \
             with an admin key (POST /v1/keys, GET /v1/keys, POST /v1/keys/{{key_id}}/revoke)",
            dir.display()
        ),
        _ => anyhow::Error::new(e).context(format!("opening the journal in {}", dir.display())),
    })
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let journal = open_journal(&args.data)?;
    let ring = KeyRing::new();
    let result = block_on(async {
        match args.command {
            KeysCommand::Create {
                role,
                name,
                agency,
                reviews_only,
                json,
            } => {
                let created = ring
                    .create(
                        &journal,
                        operator(),
                        NewKey {
                            name,
                            role,
                            agency,
                            reviews_only,
                        },
                    )
                    .await
                    .map_err(|e| anyhow!("{}", e.to_problem().detail.unwrap_or_else(|| e.to_string())))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&created)?);
                } else {
                    let k = &created.key;
                    println!(
                        "created key {} ({}, role {}{})",
                        k.key_id,
                        k.name,
                        k.role,
                        k.agency
                            .as_ref()
                            .map(|a| format!(", agency {a}"))
                            .unwrap_or_default()
                    );
                    println!("token (shown once, keep it now):\n{}", created.token);
                }
                Ok(())
            }
            KeysCommand::List { json } => {
                ring.refresh(&journal).await.map_err(|e| anyhow!("{e}"))?;
                let keys = ring.list();
                if json {
                    println!("{}", serde_json::to_string_pretty(&keys)?);
                } else {
                    println!(
                        "{:<16}  {:<24} {:<13} {:<20} {:<27} revoked",
                        "key_id", "name", "role", "agency", "created"
                    );
                    for k in keys {
                        println!(
                            "{:<16}  {:<24} {:<13} {:<20} {:<27} {}",
                            k.key_id,
                            k.name.as_str(),
                            k.role.as_str(),
                            k.agency.as_ref().map_or("", |a| a.as_str()),
                            k.created_at.to_string(),
                            k.revoked_at.map(|t| t.to_string()).unwrap_or_default()
                        );
                    }
                }
                Ok(())
            }
            KeysCommand::Revoke { key_id, reason } => {
                let info = ring
                    .revoke(&journal, operator(), &key_id, reason)
                    .await
                    .map_err(|e| anyhow!("{}", e.to_problem().detail.unwrap_or_else(|| e.to_string())))?;
                println!(
                    "key {} ({}) revoked at {}",
                    info.key_id,
                    info.name,
                    info.revoked_at.map(|t| t.to_string()).unwrap_or_default()
                );
                Ok(())
            }
        }
    });
    journal.close().context("closing the journal")?;
    result
}
