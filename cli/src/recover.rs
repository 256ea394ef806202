//! `journey verify` (a data directory, walked part by part without modifying it) and `journey accept-loss`
//! (the one way to open a data directory whose log or journal lost records known to be durable).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use futures::executor::block_on;
use journey_core::journal::{Journal, NewRecord, SystemStream};
use journey_core::{ExpectedVersion, PrincipalId, SystemClock};
use journey_embedded::{DataDirVerification, EmbeddedStore, FileJournal, FromJournal};
use journey_plugins::registry::{POLICIES_STREAM, PolicyDeployed};
use serde::{Deserialize, Serialize};

/// The journal stream where accepted losses are recorded.
pub const RECOVERY_STREAM: &str = "recovery";
const LOSS_ACCEPTED: &str = "LossAccepted";

/// Journal record: an operator accepted that records known to be durable are gone, and Journey went on
/// without them.
#[derive(Debug, Serialize, Deserialize)]
pub struct LossAccepted {
    /// What the log and the journal lost, as their refusals to open said it (`log: …`, `journal: …`).
    pub losses: Vec<String>,
    /// The operator's reason for going on instead of restoring from a backup.
    pub reason: String,
}

/// Walks every part of the data directory without modifying it; prints the report as JSON; fails if any
/// part is not intact.
pub fn verify(data: PathBuf) -> anyhow::Result<()> {
    let report = journey_embedded::verify_data_dir(&data, read_journal)
        .with_context(|| format!("verifying {}", data.display()))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    for loss in &report.journal.accepted_losses {
        eprintln!("journey: an operator accepted a loss of durable records: {loss}");
    }
    if !report.intact {
        bail!(
            "the data directory failed verification:\n  {}",
            problems(&report).join("\n  ")
        );
    }
    Ok(())
}

/// Each failure of the report, in words.
fn problems(report: &DataDirVerification) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &report.log.problem {
        out.push(format!("log: {p}"));
    }
    if let Some(b) = &report.first_broken {
        out.push(format!("log: position {}: {}", b.position, b.reason));
    }
    if let Some(p) = &report.index.problem {
        out.push(format!("index: {p}"));
    }
    if let Some(p) = &report.journal.problem {
        out.push(format!("journal: {p}"));
    }
    out.extend(report.blobs.problems.iter().map(|p| format!("blobs: {p}")));
    out
}

/// What the report needs from the journal's records: the blobs the policy records name (each deployed
/// version's component and example cases), and the losses operators accepted.
fn read_journal(journal: &FileJournal) -> journey_core::Result<FromJournal> {
    let mut found = FromJournal::default();
    let policies = block_on(journal.read_stream(&SystemStream::parse(POLICIES_STREAM)?, 1, usize::MAX))?;
    for record in policies.iter().filter(|r| r.kind.as_str() == "PolicyDeployed") {
        let deployed: PolicyDeployed = record.body_as()?;
        let what = format!(
            "journal record {} (policy {} {})",
            record.sequence, deployed.name, deployed.version
        );
        found
            .blobs
            .push((format!("{what}: its component"), deployed.content_hash.0));
        found
            .blobs
            .push((format!("{what}: its example cases"), deployed.examples_hash.0));
    }
    let recovery = block_on(journal.read_stream(&SystemStream::parse(RECOVERY_STREAM)?, 1, usize::MAX))?;
    for record in recovery.iter().filter(|r| r.kind.as_str() == LOSS_ACCEPTED) {
        let accepted: LossAccepted = record.body_as()?;
        found.accepted_losses.push(format!(
            "journal record {}, {} by {} (reason: {}): {}",
            record.sequence,
            record.recorded_at,
            record.recorded_by,
            accepted.reason,
            accepted.losses.join("; ")
        ));
    }
    Ok(found)
}

/// `journey accept-loss`: shows what the data directory lost; with `confirm`, records the loss in the system
/// journal (before anything is cut), then opens the journal and the store accepting it.
pub fn accept_loss(data: &Path, reason: &str, confirm: bool) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        bail!("--reason: say why going on without the lost records is right (it is recorded)");
    }
    let report = journey_embedded::verify_data_dir(data, |_| Ok(FromJournal::default()))
        .with_context(|| format!("checking {}", data.display()))?;
    let mut losses = Vec::new();
    if let Some(p) = report.log.problem.as_ref().or(report.index.problem.as_ref()) {
        losses.push(format!("log: {p}"));
    }
    if let Some(p) = &report.journal.problem {
        losses.push(format!("journal: {p}"));
    }
    if losses.is_empty() && report.intact {
        println!("{}: nothing is lost; nothing to accept", data.display());
        return Ok(());
    }
    // Only a lost end can be accepted (its refusal says so); damage in the middle of a log, a broken chain or
    // a damaged blob cannot be cut away.
    let other: Vec<String> = problems(&report)
        .into_iter()
        .filter(|p| !p.contains(journey_embedded::log::RESTORE_ADVICE))
        .collect();
    if !other.is_empty() {
        bail!(
            "{} is damaged in a way that accepting a loss cannot repair; restore it from a backup:\n  {}",
            data.display(),
            other.join("\n  ")
        );
    }
    eprintln!(
        "journey: {} has lost records known to be durable:",
        data.display()
    );
    for loss in &losses {
        eprintln!("  {loss}");
    }
    if !confirm {
        bail!(
            "nothing was changed. Restore the data directory from a backup if you can. To go on without these \
             records, run this again with --confirm: the loss and your reason are recorded in the system \
             journal first, then the log and the journal are cut where they can be continued"
        );
    }
    let clock = Arc::new(SystemClock);
    // The loss is recorded before anything is cut: if this stops half-way, the next run records it again
    // rather than not at all.
    let (journal, journal_loss) =
        FileJournal::open_accepting_loss(crate::keys::journal_dir(data), clock.clone())
            .context("opening the journal, accepting its loss")?;
    let body = LossAccepted {
        losses: losses.clone(),
        reason: reason.to_owned(),
    };
    let by = PrincipalId::parse("cli").expect("a valid id");
    let recorded = block_on(journal.append(
        &SystemStream::parse(RECOVERY_STREAM).expect("a valid stream"),
        ExpectedVersion::Any,
        vec![NewRecord::new(LOSS_ACCEPTED, by, &body)],
    ))
    .context("recording the loss in the system journal")?;
    journal.close()?;
    let options = crate::kek::store_options(data, None, crate::kek::IfMissing::Without)?;
    let store = EmbeddedStore::open_accepting_loss(data, clock, options)
        .context("opening the store, accepting its loss")?;
    let opened = store.open_report().clone();
    store.close()?;
    tracing::error!(
        data = %data.display(),
        journal_record = recorded[0].sequence,
        log_loss = opened.loss_accepted.as_deref().unwrap_or("none"),
        journal_loss = journal_loss.as_deref().unwrap_or("none"),
        reason,
        "accepted the loss of durable records"
    );
    eprintln!(
        "journey: LOSS ACCEPTED and recorded as journal record {} (stream {RECOVERY_STREAM}). The log now holds {} \
         records. `journey verify` lists this loss from now on.",
        recorded[0].sequence, opened.records
    );
    Ok(())
}
