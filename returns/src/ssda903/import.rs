//! Import of a year's SSDA903 CSV tables as events on each child's stream.
//!
//! * **Facts, not a copy of the table.** Episode chains become `BecameLookedAfter` (`RNE` S),
//!   `LegalStatusChanged` (L), `PlacementChanged` (P, T; `same_carers` for T), both on one day (B, U) and
//!   `CeasedToBeLookedAfter` (`REC` other than X1); the `REASON_PLACE_CHANGE` of an episode that ended X1 is
//!   the reason of the placement change that follows. Reviews, missing episodes, UASC status, adoption
//!   decisions and matches, previous permanence, social worker allocations, care leaver contacts (OC3, on the
//!   birthday) and the OC2 outcomes (dated 31 March: the table says "in the year", not when) likewise.
//! * **History that begins mid-period.** An authority's earliest return holds children already in care
//!   when it starts: their earliest episode continues a period (`RNE` L, P, T, B, U) that no file holds.
//!   That episode is recorded as `CareInProgressRecorded` (the period found in progress, its start
//!   unknown), so the child is imported and every count from the start is "at least". A later import of an
//!   earlier year whose episodes lead into it retracts that record and records the episode as the change
//!   it was: the beginning filled in, without a conflict. An episode continuing a period that a previous
//!   episode of the record ended is still refused.
//! * **Merging years.** The child's stream as it stands is read first; a fact already there (the same
//!   episode, review, allocation... on the same date) is not recorded again, and one that disagrees with it
//!   (another legal status for the same episode start, another date of birth) is a **conflict**, reported
//!   and not resolved: that child is not imported.
//! * **All or nothing per child.** A child with any bad row or conflict gets nothing from this import; every
//!   other child's new events are appended in one append (one atomic group), with `ExpectedVersion` the
//!   version read, so a concurrent writer makes it a conflict rather than a mixture.
//! * **Idempotent.** Event ids are derived from the child and the fact, and facts already present are
//!   skipped, so importing the same files again appends nothing.
//! * **Provenance.** `source` is `{agency, "ssda903-import"}`; `source_recorded_at` is when the authority
//!   produced the return (the caller says); `correlation_id` names the return, file and row:
//!   `ssda903:2024-25:episodes.csv:17` (rows counted from 1 for the header line).

use std::collections::BTreeMap;
use std::path::Path;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use journey_core::codes::{
    CareLeaverAccommodation, CareLeaverActivity, CategoryOfNeed, CollectionYear, Ethnicity, InTouch,
    LegalStatus, MissingKind, PlacementProvider, PlacementType, PreviousPermanence, ReasonEpisodeCeased,
    ReasonNewEpisode, ReasonPlaceChange, ReasonPlacedCeased, ReviewParticipation, SdqReason, Sex,
    SocialWorkerChangeReason, UpnUnknownReason,
};
use journey_core::domain::lists::{
    ConvictionKind, HealthAssessmentKind, IdentifierKind, SubstanceMisuseIntervention, WorkerRole,
};
use journey_core::domain::{
    AdoptionDecisionMade, AdoptionDecisionReversed, BecameLookedAfter, CareInProgressRecorded,
    CareLeaverContactRecorded, CeasedToBeLookedAfter, ChildBecameParent, ChildConvicted, ChildRegistered,
    DentalCheckCompleted, EventPayload, HealthAssessmentCompleted, ImmunisationsRecorded, LaCode,
    LegalStatusChanged, LongText, LookedAfterReviewHeld, MatchedWithAdopters, MissingEpisodeEnded,
    MissingEpisodeStarted, PartialDate, Placement, PlacementChanged, Postcode, PreviousPermanenceRecorded,
    Professional, SdqScoreRecorded, SubstanceMisuseIdentified, UnaccompaniedAsylumSeekingStatusCeased,
    UnaccompaniedAsylumSeekingStatusRecorded, Upn, Urn, WorkerAllocated, WorkerAllocationEnded, WorkerId,
};
use journey_core::envelope::NewEvent;
use journey_core::error::{Error, Result};
use journey_core::ids::ExpectedVersion;
use journey_core::ids::{AgencyId, ChildId, CorrelationId, EventId, PrincipalId, Source, SystemId, Version};
use journey_core::store::{AppendRequest, EventStore};
use journey_core::time::{Date, OccurredAt, Timestamp};

use super::export::{oc2_row, oc3_row};
use super::facts::ChildFacts;
use super::tables::{TableKind, format_date, parse_date};
use crate::report::{ChildOutcome, ChildTally, flagged_identifier};

/// One file of a return: its name (for the report and provenance) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl ImportFile {
    /// Every `*.csv` file in `dir`, by name.
    pub fn read_dir(dir: &Path) -> std::io::Result<Vec<ImportFile>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
                out.push(ImportFile {
                    name: path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    bytes: std::fs::read(&path)?,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Who imports, for which year, and when the authority produced the return.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    pub year: CollectionYear,
    /// The authority the return speaks for (`source.agency`).
    pub agency: AgencyId,
    /// The authenticated principal running the import (`recorded_by`).
    pub principal: PrincipalId,
    /// When the authority's system produced the return: every event's `source_recorded_at`.
    pub source_recorded_at: Timestamp,
    /// Children imported at once (appends in flight; the embedded store commits them in groups).
    pub concurrency: usize,
}

/// A row, or a cell of it, that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub file: String,
    /// 1 is the header line.
    pub row: usize,
    pub column: String,
    pub rule: String,
    /// The child the row belongs to, when known: nothing of that child was imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rows read, over every file.
    pub rows: usize,
    /// Files and the table each was read as.
    pub files: Vec<(String, Option<TableKind>, usize)>,
    /// The children: imported, unchanged, refused and why (bad rows and cells are `problems`).
    #[serde(flatten)]
    pub tally: ChildTally,
}

/// Imports one year's SSDA903 CSV tables into `store` (see the module documentation).
pub async fn import(
    store: &dyn EventStore,
    files: &[ImportFile],
    options: &ImportOptions,
) -> Result<ImportReport> {
    import_years(store, &[(options.year, files)], options).await
}

/// Imports several years' returns at once (in year order, whatever the order given), each child's new
/// facts from every year in one append: the same as importing the years one after another, with half the
/// appends for two years. `options.year` is not used. Files in the report are named `<year>/<file>`.
pub async fn import_years(
    store: &dyn EventStore,
    returns: &[(CollectionYear, &[ImportFile])],
    options: &ImportOptions,
) -> Result<ImportReport> {
    import_years_with_progress(store, returns, options, &()).await
}

/// Told how an import is going, for a progress bar: how many children the files name, once they are read,
/// then each child as it is done (imported, unchanged or refused).
pub trait ImportProgress: Sync {
    fn children_found(&self, _children: usize) {}
    fn child_done(&self) {}
}

/// No progress to show.
impl ImportProgress for () {}

/// [`import_years`], telling `progress` how it goes.
pub async fn import_years_with_progress(
    store: &dyn EventStore,
    returns: &[(CollectionYear, &[ImportFile])],
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport> {
    let mut returns: Vec<(CollectionYear, &[ImportFile])> = returns.to_vec();
    returns.sort_by_key(|r| r.0);
    let several = returns.len() > 1;
    let mut report = ImportReport::default();
    let mut children: BTreeMap<String, Vec<ChildRows>> = BTreeMap::new();
    let mut file_refs: Vec<FileRef> = Vec::new();
    for (yi, (year, files)) in returns.iter().enumerate() {
        let mut by_child: BTreeMap<String, ChildRows> = BTreeMap::new();
        for file in files.iter() {
            let label = year.to_string().replace('/', "-");
            let shown = if several {
                format!("{label}/{}", file.name)
            } else {
                file.name.clone()
            };
            let fi = file_refs.len();
            file_refs.push(FileRef {
                year: *year,
                year_label: label,
                name: file.name.clone(),
                shown: shown.clone(),
            });
            read_file(fi, &shown, &file.bytes, &mut report, &mut by_child);
        }
        for (child, rows) in by_child {
            let v = children.entry(child).or_default();
            v.resize_with(returns.len(), ChildRows::default);
            v[yi] = rows;
        }
    }
    progress.children_found(children.len());
    let outcomes: Vec<Result<(String, ChildOutcome)>> =
        stream::iter(children.into_iter().map(|(id, rows)| {
            let refs = &file_refs;
            async move {
                let outcome = import_child(store, options, refs, &id, rows).await;
                progress.child_done();
                outcome.map(|o| (id, o))
            }
        }))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        let (child, o) = outcome?;
        report.tally.add(&child, o);
    }
    report.tally.finish();
    Ok(report)
}

/// A file of the import: its return's year and its name.
#[derive(Debug)]
struct FileRef {
    year: CollectionYear,
    year_label: String,
    name: String,
    /// As the report names it.
    shown: String,
}

/// One CSV row: which file, which line, its cells in [`TableKind::columns`] order.
#[derive(Clone, Debug)]
struct Row {
    file: usize,
    line: usize,
    cells: Vec<String>,
}

#[derive(Debug, Default)]
struct ChildRows {
    tables: BTreeMap<TableKind, Vec<Row>>,
}

fn read_file(
    fi: usize,
    name: &str,
    bytes: &[u8],
    report: &mut ImportReport,
    children: &mut BTreeMap<String, ChildRows>,
) {
    let problem = |row: usize, column: &str, rule: String| RowProblem {
        file: name.to_string(),
        row,
        column: column.to_string(),
        rule,
        child: None,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_uppercase()).collect(),
        Err(e) => {
            report
                .tally
                .problems
                .push(problem(1, "", format!("not a CSV file: {e}")));
            report.files.push((name.to_string(), None, 0));
            return;
        }
    };
    let Some(kind) = TableKind::from_columns(&headers) else {
        report.tally.problems.push(problem(
            1,
            "",
            format!("the columns {headers:?} are not those of any SSDA903 table"),
        ));
        report.files.push((name.to_string(), None, 0));
        return;
    };
    let order: Vec<usize> = kind
        .columns()
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == c)
                .expect("matched by from_columns")
        })
        .collect();
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report
                    .tally
                    .problems
                    .push(problem(line, "", format!("unreadable row: {e}")));
                continue;
            }
        };
        if record.len() != headers.len() {
            report.tally.problems.push(problem(
                line,
                "",
                format!("has {} cells, the header {}", record.len(), headers.len()),
            ));
            continue;
        }
        let cells: Vec<String> = order.iter().map(|&j| record[j].trim().to_string()).collect();
        children
            .entry(cells[0].clone())
            .or_default()
            .tables
            .entry(kind)
            .or_default()
            .push(Row {
                file: fi,
                line,
                cells,
            });
    }
    report.rows += rows;
    report.files.push((name.to_string(), Some(kind), rows));
}

/// A new event to append, with the row it came from.
struct Planned {
    date: Date,
    /// Order within a day: registration, then care, then the rest, then endings.
    order: u8,
    seq: usize,
    payload: EventPayload,
    file: usize,
    line: usize,
}

/// Everything the import of one child needs while it plans.
struct Planner<'a> {
    files: &'a [FileRef],
    /// The year of the return being planned.
    year: CollectionYear,
    child: String,
    facts: ChildFacts,
    planned: Vec<Planned>,
    out: ChildOutcome,
    /// Periods of care the log holds as found in progress (`CareInProgressRecorded`, not retracted).
    in_progress: Vec<FoundInProgress>,
    /// Versions of the log's events this import retracts (a period in progress whose start it fills in).
    retracted_versions: Vec<u64>,
    /// The day the return was produced: the date of a retraction the import records.
    decided_on: Date,
    /// Identifiers kept as recorded (`InvalidIdentifierRecorded`) in the log or planned: not again.
    flagged_in_log: Vec<(IdentifierKind, String)>,
}

/// A `CareInProgressRecorded` in the log.
#[derive(Clone, Debug)]
struct FoundInProgress {
    on: Date,
    version: u64,
    event_id: EventId,
    content: CareInProgressRecorded,
}

impl Planner<'_> {
    fn problem(&mut self, row: &Row, column: &str, rule: impl Into<String>) {
        self.out.problems.push(RowProblem {
            file: self.files[row.file].shown.clone(),
            row: row.line,
            column: column.to_string(),
            rule: rule.into(),
            child: Some(self.child.clone()),
        });
    }

    /// A well-formed fact that breaks a rule of the child's journey (reported apart from bad values).
    fn rule(&mut self, row: &Row, column: &str, rule: impl Into<String>) {
        self.out.refused_by_rules.push(RowProblem {
            file: self.files[row.file].shown.clone(),
            row: row.line,
            column: column.to_string(),
            rule: rule.into(),
            child: Some(self.child.clone()),
        });
    }

    /// An identifier that fails its check: kept as recorded (`InvalidIdentifierRecorded` on `on`, unless
    /// the log holds it already), listed in the report, not used. The child is still imported.
    fn identifier<T>(
        &mut self,
        kind: TableKind,
        row: &Row,
        column: &str,
        on: Date,
        identifier: IdentifierKind,
        parse: impl Fn(&str) -> std::result::Result<T, journey_core::error::FieldError>,
    ) -> Option<T> {
        let s = self.cell(kind, row, column).to_string();
        if s.is_empty() {
            return None;
        }
        match parse(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.out.flagged.push(RowProblem {
                    file: self.files[row.file].shown.clone(),
                    row: row.line,
                    column: column.to_string(),
                    rule: format!("kept as recorded, not used: {}", e.message),
                    child: Some(self.child.clone()),
                });
                let flag = flagged_identifier(identifier, &s, &e.message);
                if self
                    .flagged_in_log
                    .iter()
                    .any(|(i, v)| *i == identifier && *v == flag.recorded.as_str())
                {
                    self.out.already += 1;
                } else {
                    self.flagged_in_log
                        .push((identifier, flag.recorded.as_str().to_string()));
                    self.plan(row, on, 5, flag);
                }
                None
            }
        }
    }

    fn conflict(&mut self, row: &Row, column: &str, recorded: &str, imported: &str) {
        self.out.conflicts.push(RowProblem {
            file: self.files[row.file].shown.clone(),
            row: row.line,
            column: column.to_string(),
            rule: format!("the log holds {recorded:?}, this return says {imported:?}"),
            child: Some(self.child.clone()),
        });
    }

    fn plan(&mut self, row: &Row, date: Date, order: u8, payload: impl Into<EventPayload>) {
        let seq = self.planned.len();
        self.planned.push(Planned {
            date,
            order,
            seq,
            payload: payload.into(),
            file: row.file,
            line: row.line,
        });
    }

    /// A cell of `row` in table `kind`, by column name.
    fn cell<'r>(&self, kind: TableKind, row: &'r Row, column: &str) -> &'r str {
        let i = kind
            .columns()
            .iter()
            .position(|c| *c == column)
            .expect("a column of the table");
        &row.cells[i]
    }

    fn date(&mut self, kind: TableKind, row: &Row, column: &str) -> Option<Date> {
        let s = self.cell(kind, row, column);
        if s.is_empty() {
            return None;
        }
        match parse_date(s) {
            Some(d) => Some(d),
            None => {
                self.problem(row, column, format!("must be a date dd/mm/yyyy (got {s:?})"));
                None
            }
        }
    }

    fn required_date(&mut self, kind: TableKind, row: &Row, column: &str) -> Option<Date> {
        if self.cell(kind, row, column).is_empty() {
            self.problem(row, column, "is required");
            return None;
        }
        self.date(kind, row, column)
    }

    /// Parses a cell with `parse` (a code list's strict parser), reporting a failure.
    fn code<T>(
        &mut self,
        kind: TableKind,
        row: &Row,
        column: &str,
        parse: impl Fn(&str) -> std::result::Result<T, journey_core::error::FieldError>,
    ) -> Option<T> {
        let s = self.cell(kind, row, column);
        if s.is_empty() {
            return None;
        }
        match parse(s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(row, column, e.message);
                None
            }
        }
    }

    fn required_code<T>(
        &mut self,
        kind: TableKind,
        row: &Row,
        column: &str,
        parse: impl Fn(&str) -> std::result::Result<T, journey_core::error::FieldError>,
    ) -> Option<T> {
        if self.cell(kind, row, column).is_empty() {
            self.problem(row, column, "is required");
            return None;
        }
        self.code(kind, row, column, parse)
    }

    fn flag(&mut self, kind: TableKind, row: &Row, column: &str) -> Option<bool> {
        match self.cell(kind, row, column) {
            "" => None,
            "0" => Some(false),
            "1" => Some(true),
            other => {
                self.problem(row, column, format!("must be 0 or 1 (got {other:?})"));
                None
            }
        }
    }
}

async fn import_child(
    store: &dyn EventStore,
    options: &ImportOptions,
    files: &[FileRef],
    child: &str,
    years: Vec<ChildRows>,
) -> Result<ChildOutcome> {
    let mut planner = Planner {
        files,
        year: options.year,
        child: child.to_string(),
        facts: ChildFacts::default(),
        planned: Vec::new(),
        out: ChildOutcome::default(),
        in_progress: Vec::new(),
        retracted_versions: Vec::new(),
        decided_on: options.source_recorded_at.england_date(),
        flagged_in_log: Vec::new(),
    };
    let any_row = years
        .iter()
        .flat_map(|r| r.tables.values().flatten())
        .next()
        .cloned()
        .expect("a child has rows");
    let child_id = match ChildId::parse(child) {
        Ok(id) => id,
        Err(e) => {
            planner.problem(&any_row, "CHILD", e.message);
            return Ok(planner.out);
        }
    };
    let existing = read_all(store, &child_id).await?;
    let version = existing.last().map(|e| e.envelope.version);
    let base = existing
        .last()
        .map(|last| ChildFacts::recorded(&existing, last.envelope.recorded_at))
        .unwrap_or_default();
    let next_version = version.map_or(1, |v| v.0 + 1);
    if let Some(last) = existing.last() {
        let effective = journey_core::view::known_at(&existing, last.envelope.recorded_at);
        planner.flagged_in_log = effective
            .iter()
            .filter(|e| !e.is_retracted())
            .filter_map(|e| match &e.payload {
                EventPayload::InvalidIdentifierRecorded(i) => {
                    Some((i.identifier, i.recorded.as_str().to_string()))
                }
                _ => None,
            })
            .collect();
        planner.in_progress = effective
            .into_iter()
            .filter(|e| !e.is_retracted())
            .filter_map(|e| match &e.payload {
                EventPayload::CareInProgressRecorded(c) => Some(FoundInProgress {
                    on: e.occurred_at.date(),
                    version: e.envelope.version.0,
                    event_id: e.envelope.event_id.clone(),
                    content: c.clone(),
                }),
                _ => None,
            })
            .collect();
    }
    planner.facts = ChildFacts::from_events(
        existing.first().map(|e| e.envelope.child_id.clone()),
        base.clone(),
    );
    for rows in &years {
        let Some(first) = rows.tables.values().flatten().next() else {
            continue;
        };
        planner.year = files[first.file].year;
        plan_child(&mut planner, rows);
        if !planner.out.problems.is_empty()
            || !planner.out.refused_by_rules.is_empty()
            || !planner.out.conflicts.is_empty()
        {
            return Ok(planner.out);
        }
        // The next year is planned against the log as this year's facts will leave it.
        planner.planned.sort_by_key(|p| (p.date, p.order, p.seq));
        let retracted = &planner.retracted_versions;
        let mut all: Vec<_> = base
            .iter()
            .filter(|(_, v, _)| !retracted.contains(v))
            .cloned()
            .collect();
        all.extend(
            planner
                .planned
                .iter()
                .enumerate()
                .map(|(i, p)| (p.date, next_version + i as u64, p.payload.clone())),
        );
        let child_id = planner.facts.child_id.clone().or_else(|| Some(child_id.clone()));
        planner.facts = ChildFacts::from_events(child_id, all);
    }
    if planner.planned.is_empty() {
        return Ok(planner.out);
    }
    let mut planned = std::mem::take(&mut planner.planned);
    // A retraction goes first: the period it withdraws must be gone before the earlier history that
    // replaces it opens the period again.
    planned.sort_by_key(|p| {
        (
            !matches!(p.payload, EventPayload::EventRetracted(_)),
            p.date,
            p.order,
            p.seq,
        )
    });
    let source = Source {
        agency: options.agency.clone(),
        system: SystemId::parse("ssda903-import").expect("a valid system id"),
    };
    let events: Vec<NewEvent> = planned
        .iter()
        .map(|p| {
            let file = &files[p.file];
            imported_event(
                options,
                &source,
                fact_event_id("ssda903", &child_id, p.date, "", &p.payload),
                p.date,
                format!("ssda903:{}:{}:{}", file.year_label, sanitise(&file.name), p.line),
                p.payload.clone(),
            )
        })
        .collect();
    match append_child(store, child_id, version, &options.principal, events).await? {
        ChildAppend::Appended(n) => planner.out.appended = n,
        ChildAppend::Refused(problems) => {
            // The domain refused the child's events: report each rule against the row it came from.
            for (i, fe) in problems {
                let p = i.and_then(|i| planned.get(i));
                planner.out.refused_by_rules.push(RowProblem {
                    file: p.map_or_else(String::new, |p| files[p.file].shown.clone()),
                    row: p.map_or(0, |p| p.line),
                    column: fe.field.clone(),
                    rule: fe.message,
                    child: Some(child.to_string()),
                });
            }
        }
        ChildAppend::StreamChanged(why) => planner.out.conflicts.push(RowProblem {
            file: files[any_row.file].shown.clone(),
            row: any_row.line,
            column: "CHILD".to_string(),
            rule: why,
            child: Some(child.to_string()),
        }),
    }
    Ok(planner.out)
}

/// How an import's one append for a child went.
pub(crate) enum ChildAppend {
    /// Appended this many events (0 when the same append had been recorded before).
    Appended(usize),
    /// The domain refused them: each rule, with the index of the event it is about when it names one.
    Refused(Vec<(Option<usize>, journey_core::error::FieldError)>),
    /// Another writer changed the child's stream after the import read it.
    StreamChanged(String),
}

/// Appends an import's new events for one child in one atomic group, expecting the stream to be at
/// `version` (as the import read it), and sorts out the outcomes an import reports rather than fails on.
pub(crate) async fn append_child(
    store: &dyn EventStore,
    child_id: ChildId,
    version: Option<Version>,
    principal: &PrincipalId,
    events: Vec<NewEvent>,
) -> Result<ChildAppend> {
    let n = events.len();
    let request = AppendRequest {
        child_id,
        expected: version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact),
        recorded_by: principal.clone(),
        events,
    };
    match store.append(request).await {
        Ok(out) => Ok(ChildAppend::Appended(if out.already_recorded { 0 } else { n })),
        Err(Error::Invalid(problems)) => Ok(ChildAppend::Refused(
            problems
                .0
                .into_iter()
                .map(|fe| (event_index(&fe.field), fe))
                .collect(),
        )),
        Err(Error::Conflict(c)) => Ok(ChildAppend::StreamChanged(format!(
            "the child's stream changed during the import: {c}"
        ))),
        Err(e) => Err(e),
    }
}

pub(crate) async fn read_all(
    store: &dyn EventStore,
    child: &ChildId,
) -> Result<Vec<journey_core::envelope::RecordedEvent>> {
    let mut out = Vec::new();
    loop {
        let from = Version(out.len() as u64 + 1);
        let batch = store.read_stream(child.clone(), from, 10_000).await?;
        let done = batch.len() < 10_000;
        out.extend(batch);
        if done {
            return Ok(out);
        }
    }
}

/// `events[3].data...` → 3.
fn event_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("events[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// A file name as a provenance token: letters, digits, `-_.` kept, anything else `_`.
pub(crate) fn sanitise(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if s.is_empty() { "file".to_string() } else { s }
}

/// The id of an imported fact, `<return>:<child>:<kind>:<date>:<digest>`: the digest is over the child, the
/// date, what the fact is about (`about`: empty where the content alone tells facts apart) and the content.
/// Never derived from the file: the same fact in two years' returns has the same id, and a re-import is
/// recognised.
pub(crate) fn fact_event_id(
    prefix: &str,
    child: &ChildId,
    date: Date,
    about: &str,
    payload: &EventPayload,
) -> EventId {
    let encoded = bincode::encode_to_vec(payload, bincode::config::standard()).expect("payloads encode");
    let digest = Sha256::new()
        .chain_update(child.as_str())
        .chain_update(date.to_string())
        .chain_update(about)
        .chain_update(&encoded)
        .finalize();
    EventId::parse(format!(
        "{prefix}:{child}:{}:{date}:{}",
        payload.kind().as_str(),
        hex::encode(&digest[..8])
    ))
    .expect("a valid event id")
}

/// An imported fact as an event on `date`: from `source`, as the authority's system produced it
/// (`source_recorded_at`), with where it came from (`provenance`, a sanitised token) as its correlation id.
pub(crate) fn imported_event(
    options: &ImportOptions,
    source: &Source,
    event_id: EventId,
    date: Date,
    provenance: String,
    payload: EventPayload,
) -> NewEvent {
    NewEvent {
        event_id,
        occurred_at: OccurredAt::on(date),
        source: source.clone(),
        correlation_id: Some(CorrelationId::parse(provenance).expect("a sanitised provenance token")),
        causation_id: None,
        source_recorded_at: Some(options.source_recorded_at),
        payload,
    }
}

fn plan_child(pl: &mut Planner<'_>, rows: &ChildRows) {
    let year = pl.year;
    let t = |k: TableKind| rows.tables.get(&k).map(Vec::as_slice).unwrap_or(&[]);
    let header = t(TableKind::Header);
    let Some(h) = header.first() else {
        let any = rows.tables.values().flatten().next().expect("a child has rows");
        pl.problem(any, "CHILD", "has rows but no Header row");
        return;
    };
    if header.len() > 1 {
        pl.problem(&header[1], "CHILD", "appears twice in Header");
    }
    plan_header(pl, h);
    let Some(dob) = pl
        .facts
        .date_of_birth
        .or_else(|| parse_date(pl.cell(TableKind::Header, h, "DOB")))
    else {
        return;
    };
    plan_episodes(pl, t(TableKind::Episodes));
    // The other tables' DOB must agree with the header's.
    for (kind, rs) in &rows.tables {
        if kind.columns().contains(&"DOB") && *kind != TableKind::Header {
            for r in rs {
                if let Some(d) = pl.date(*kind, r, "DOB")
                    && d != dob
                {
                    pl.conflict(r, "DOB", &format_date(dob), &format_date(d));
                }
            }
        }
    }
    let k = TableKind::Reviews;
    for r in t(k) {
        let (Some(on), Some(code)) = (
            pl.required_date(k, r, "REVIEW"),
            pl.required_code(k, r, "REVIEW_CODE", ReviewParticipation::parse),
        ) else {
            continue;
        };
        match pl.facts.reviews.iter().find(|(d, _)| *d == on) {
            Some((_, c)) if *c == code => pl.out.already += 1,
            Some((_, c)) => pl.conflict(r, "REVIEW_CODE", c.code(), code.code()),
            None => pl.plan(
                r,
                on,
                40,
                LookedAfterReviewHeld {
                    participation: code,
                    chair: None,
                },
            ),
        }
    }
    plan_missing(pl, t(TableKind::Missing));
    plan_uasc(pl, t(TableKind::Uasc), year);
    plan_adoption(pl, t(TableKind::Ad1), t(TableKind::PlacedAdoption));
    plan_prev_perm(pl, t(TableKind::PrevPerm), year);
    plan_social_workers(pl, t(TableKind::SwEpisodes));
    plan_oc2(pl, t(TableKind::Oc2), year, dob);
    plan_oc3(pl, t(TableKind::Oc3), year, dob);
}

fn plan_header(pl: &mut Planner<'_>, h: &Row) {
    let k = TableKind::Header;
    let year = pl.year;
    let sex = pl.required_code(k, h, "SEX", |s| Sex::from_ssda903(s, year));
    let dob = pl.required_date(k, h, "DOB");
    let ethnicity = pl.code(k, h, "ETHNIC", Ethnicity::parse);
    let upn_cell = pl.cell(k, h, "UPN").to_string();
    let (upn, unknown) = if upn_cell.starts_with("UN") && upn_cell.len() == 3 {
        (None, pl.code(k, h, "UPN", UpnUnknownReason::parse))
    } else if upn_cell.is_empty() {
        (None, None)
    } else {
        let on = parse_date(pl.cell(k, h, "DOB")).unwrap_or(pl.year.start_date());
        (
            pl.identifier(k, h, "UPN", on, IdentifierKind::Upn, |s| Upn::parse(s)),
            None,
        )
    };
    let (Some(sex), Some(dob)) = (sex, dob) else {
        return;
    };
    if pl.facts.child_id.is_none() {
        // Registered on the date of birth: who the child is holds on every date.
        pl.plan(
            h,
            dob,
            0,
            ChildRegistered {
                given_name: None,
                family_name: None,
                preferred_name: None,
                date_of_birth: Some(dob),
                expected_date_of_birth: None,
                sex,
                ethnicity: ethnicity.filter(|e| *e != Ethnicity::NOBT),
                upn: upn.clone(),
                former_upn: None,
                upn_unknown_reason: unknown,
                nhs_number: None,
                disabilities: Vec::new(),
                family_id: None,
            },
        );
        pl.facts.date_of_birth = Some(dob);
        pl.facts.sex = Some(sex);
        pl.facts.ethnicity = ethnicity;
        pl.facts.upn = upn;
        pl.facts.upn_unknown = unknown;
    } else {
        let f = &pl.facts;
        let mut conflicts = Vec::new();
        if f.date_of_birth != Some(dob) {
            conflicts.push((
                "DOB",
                f.date_of_birth.map(format_date).unwrap_or_default(),
                format_date(dob),
            ));
        }
        if f.sex != Some(sex) {
            conflicts.push((
                "SEX",
                f.sex
                    .map(|s| s.ssda903_code(year).to_string())
                    .unwrap_or_default(),
                pl.cell(k, h, "SEX").to_string(),
            ));
        }
        let recorded_eth = f.ethnicity.unwrap_or(Ethnicity::NOBT);
        if let Some(e) = ethnicity
            && e != recorded_eth
            && e != Ethnicity::NOBT
        {
            conflicts.push(("ETHNIC", recorded_eth.code().to_string(), e.code().to_string()));
        }
        if let Some(u) = &upn
            && f.upn.as_ref().is_some_and(|x| x != u)
        {
            conflicts.push((
                "UPN",
                f.upn.as_ref().map(|x| x.as_str().to_string()).unwrap_or_default(),
                u.as_str().to_string(),
            ));
        }
        for (c, a, b) in conflicts {
            pl.conflict(h, c, &a, &b);
        }
        if upn.is_some() && pl.facts.upn.is_none() {
            pl.plan(
                h,
                pl.year.start_date().max(dob),
                1,
                journey_core::domain::ChildDetailsAmended {
                    upn: upn.clone(),
                    ..Default::default()
                },
            );
            pl.facts.upn = upn;
        } else {
            pl.out.already += 1;
        }
    }
    if pl.cell(k, h, "MOTHER") == "1"
        && let Some(baby) = pl.date(k, h, "MC_DOB")
    {
        if pl.facts.became_parent.contains(&baby) {
            pl.out.already += 1;
        } else {
            pl.plan(h, baby, 50, ChildBecameParent { baby: None });
        }
    }
}

/// One episode row, parsed.
struct EpisodeRow<'r> {
    row: &'r Row,
    start: Date,
    rne: ReasonNewEpisode,
    ls: LegalStatus,
    cin: CategoryOfNeed,
    placement: Placement,
    end: Option<Date>,
    rec: Option<ReasonEpisodeCeased>,
    reason_place_change: Option<ReasonPlaceChange>,
    home: Option<Postcode>,
}

fn plan_episodes(pl: &mut Planner<'_>, rows: &[Row]) {
    let k = TableKind::Episodes;
    let mut eps: Vec<EpisodeRow<'_>> = Vec::new();
    for r in rows {
        let start = pl.required_date(k, r, "DECOM");
        let rne = pl.required_code(k, r, "RNE", ReasonNewEpisode::parse);
        let ls = pl.required_code(k, r, "LS", LegalStatus::parse);
        let cin = pl.required_code(k, r, "CIN", CategoryOfNeed::parse);
        let place = pl.required_code(k, r, "PLACE", PlacementType::parse);
        let provider = pl.code(k, r, "PLACE_PROVIDER", PlacementProvider::parse);
        let end = pl.date(k, r, "DEC");
        let rec = pl.code(k, r, "REC", ReasonEpisodeCeased::parse);
        let reason_place_change = pl.code(k, r, "REASON_PLACE_CHANGE", ReasonPlaceChange::parse);
        let on = parse_date(pl.cell(k, r, "DECOM")).unwrap_or(pl.year.start_date());
        let home = pl.identifier(k, r, "HOME_POST", on, IdentifierKind::HomePostcode, |s| {
            Postcode::parse(s)
        });
        let postcode = pl.identifier(k, r, "PL_POST", on, IdentifierKind::PlacementPostcode, |s| {
            Postcode::parse(s)
        });
        let urn = pl.code(k, r, "URN", |s| Urn::parse(s));
        if end.is_some() != rec.is_some() {
            pl.problem(
                r,
                if end.is_some() { "REC" } else { "DEC" },
                "DEC and REC are given together or not at all",
            );
        }
        let (Some(start), Some(rne), Some(ls), Some(cin), Some(place)) = (start, rne, ls, cin, place) else {
            continue;
        };
        if end.is_some_and(|e| e < start) {
            pl.rule(r, "DEC", "must not be before DECOM");
        }
        eps.push(EpisodeRow {
            row: r,
            start,
            rne,
            ls,
            cin,
            placement: Placement {
                place_type: place,
                provider,
                postcode,
                urn,
                location: None,
                la_of_placement: None,
                carers: Vec::new(),
            },
            end,
            rec,
            reason_place_change,
            home,
        });
    }
    eps.sort_by_key(|e| e.start);
    // The period of care open on the day the first row starts, as the log (and the years planned before
    // this one) leave it. The log may hold later years already (an earlier year imported after them).
    let first_start = eps.first().map(|e| e.start);
    let before = first_start.and_then(|d| pl.facts.episodes.iter().rfind(|x| x.start < d));
    let mut previous_reason: Option<ReasonPlaceChange> = before.and_then(|e| e.reason_place_change);
    let mut open = before.filter(|e| open_on(e, first_start)).cloned();
    let mut starts_unknown: Vec<Date> = Vec::new();
    for (i, e) in eps.iter().enumerate() {
        let r = e.row;
        if let Some(next) = eps.get(i + 1) {
            let x1 = e.rec == Some(ReasonEpisodeCeased::X1);
            if x1 && e.end != Some(next.start) {
                pl.rule(
                    r,
                    "DEC",
                    "an episode ending X1 must end on the day the next one starts",
                );
            }
        }
        if let Some(existing) = pl.facts.episodes.iter().find(|x| x.start == e.start).cloned() {
            // Already recorded: the same facts, or a conflict.
            let mine = (e.rne, e.ls, e.cin, e.placement.place_type, e.placement.provider);
            let theirs = (
                existing.reason_new,
                existing.legal_status,
                existing.category_of_need,
                existing.place,
                existing.provider,
            );
            if mine != theirs {
                pl.conflict(r, "DECOM", &format!("{theirs:?}"), &format!("{mine:?}"));
                continue;
            }
            pl.out.already += 1;
            if existing.period_start_unknown && open.is_some() {
                // The log found this period in progress here; this return holds the episodes before:
                // they fill in its beginning.
                fill_in(pl, r, e.start, previous_reason);
            }
            match (existing.end, e.end, e.rec) {
                (None, Some(dec), Some(rec)) if rec != ReasonEpisodeCeased::X1 => {
                    pl.plan(r, dec, 90, CeasedToBeLookedAfter { reason: rec });
                }
                (Some(a), Some(b), _) if a != b => pl.conflict(r, "DEC", &format_date(a), &format_date(b)),
                _ => {}
            }
            previous_reason = e.reason_place_change;
            let ended = |rec: Option<ReasonEpisodeCeased>| rec.is_some_and(|r| r.ends_period_of_care());
            open = (!ended(e.rec) && !ended(existing.reason_ceased)).then_some(existing);
            continue;
        }
        let mut in_progress = false;
        match e.rne {
            ReasonNewEpisode::S => {
                if open.is_some() {
                    pl.rule(
                        r,
                        "RNE",
                        "S (started to be looked after) while a period of care is open in the log",
                    );
                    continue;
                }
                pl.plan(
                    r,
                    e.start,
                    10,
                    BecameLookedAfter {
                        legal_status: e.ls,
                        category_of_need: e.cin,
                        placement: e.placement.clone(),
                        home_postcode: e.home.clone(),
                    },
                );
            }
            rne => match open.as_ref() {
                None if i == 0 && !pl.facts.episodes.iter().any(|x| x.start < e.start) => {
                    // The earliest episode the record holds continues a period begun before it (the
                    // authority's earliest return): the period is recorded as found in progress, its start
                    // unknown, until an earlier year's return fills it in.
                    in_progress = true;
                    starts_unknown.push(e.start);
                    pl.plan(
                        r,
                        e.start,
                        10,
                        CareInProgressRecorded {
                            reason_new_episode: rne,
                            legal_status: e.ls,
                            category_of_need: e.cin,
                            placement: e.placement.clone(),
                            home_postcode: e.home.clone(),
                        },
                    );
                }
                None => {
                    pl.rule(
                        r,
                        "RNE",
                        format!(
                            "{rne} continues a period of care, but no period is open on {} (the episode before \
                             ended it): an episode starting a period is RNE S",
                            format_date(e.start)
                        ),
                    );
                    continue;
                }
                Some(cur) => {
                    if cur.category_of_need != e.cin {
                        pl.conflict(r, "CIN", cur.category_of_need.code(), e.cin.code());
                    }
                    plan_change(pl, r, e.start, rne, e.ls, &e.placement, previous_reason);
                }
            },
        }
        previous_reason = e.reason_place_change;
        open = Some(super::facts::Episode {
            start: e.start,
            reason_new: e.rne,
            legal_status: e.ls,
            category_of_need: e.cin,
            place: e.placement.place_type,
            provider: e.placement.provider,
            end: None,
            reason_ceased: None,
            reason_place_change: None,
            home_postcode: e.home.clone(),
            placement_postcode: e.placement.postcode.clone(),
            urn: e.placement.urn.clone(),
            period_start_unknown: in_progress,
        });
        if let (Some(dec), Some(rec)) = (e.end, e.rec)
            && rec != ReasonEpisodeCeased::X1
        {
            pl.plan(r, dec, 90, CeasedToBeLookedAfter { reason: rec });
            open = None;
        }
    }
    // The new episodes count as the child's for the tables that follow (UASC, previous permanence).
    for e in &eps {
        if !pl.facts.episodes.iter().any(|x| x.start == e.start) {
            pl.facts.episodes.push(super::facts::Episode {
                start: e.start,
                reason_new: e.rne,
                legal_status: e.ls,
                category_of_need: e.cin,
                place: e.placement.place_type,
                provider: e.placement.provider,
                end: e.end,
                reason_ceased: e.rec,
                reason_place_change: e.reason_place_change,
                home_postcode: e.home.clone(),
                placement_postcode: e.placement.postcode.clone(),
                urn: e.placement.urn.clone(),
                period_start_unknown: starts_unknown.contains(&e.start),
            });
        }
    }
    pl.facts.episodes.sort_by_key(|e| e.start);
}

/// Whether `episode` (the last to begin before `on`) is still open on `on`: not ended, or ended that day or
/// later only to be followed by the next episode (X1).
fn open_on(episode: &super::facts::Episode, on: Option<Date>) -> bool {
    let Some(on) = on else { return false };
    match (episode.end, episode.reason_ceased) {
        (None, _) => true,
        (Some(end), Some(ReasonEpisodeCeased::X1)) => end >= on,
        (Some(end), _) => end > on,
    }
}

/// The events of an episode that continues the open period: a new legal status (`RNE` L, B, U), a new
/// placement (P, T, B, U; T and U with the same carers), `reason` the placement change's (the previous
/// episode's `REASON_PLACE_CHANGE`).
fn plan_change(
    pl: &mut Planner<'_>,
    r: &Row,
    on: Date,
    rne: ReasonNewEpisode,
    ls: LegalStatus,
    placement: &Placement,
    reason: Option<ReasonPlaceChange>,
) {
    use ReasonNewEpisode as R;
    if matches!(rne, R::L | R::B | R::U) {
        pl.plan(r, on, 11, LegalStatusChanged { legal_status: ls });
    }
    if matches!(rne, R::P | R::T | R::B | R::U) {
        pl.plan(
            r,
            on,
            12,
            PlacementChanged {
                placement: placement.clone(),
                reason,
                same_carers: matches!(rne, R::T | R::U),
            },
        );
    }
}

/// The log holds a period of care found in progress on `on` (`CareInProgressRecorded`, its start unknown),
/// and this return shows it continuing from an earlier episode: that record is retracted (it stays in the
/// log, as what was known until now) and the episode is recorded as the change it was. Nothing conflicts.
fn fill_in(pl: &mut Planner<'_>, r: &Row, on: Date, reason: Option<ReasonPlaceChange>) {
    let Some(found) = pl.in_progress.iter().find(|f| f.on == on).cloned() else {
        return;
    };
    let c = found.content;
    let retraction = journey_core::domain::EventRetracted {
        target_event_id: found.event_id.clone(),
        reason: journey_core::domain::lists::RetractionReason::Other,
        detail: Some(
            LongText::parse(format!(
                "Superseded: the {} SSDA903 return holds this period of care from its start; the episode of {} \
                 is recorded as the change it was",
                pl.year,
                format_date(on)
            ))
            .expect("short text"),
        ),
    };
    pl.retracted_versions.push(found.version);
    let decided_on = pl.decided_on;
    pl.plan(r, decided_on, 0, retraction);
    plan_change(
        pl,
        r,
        on,
        c.reason_new_episode,
        c.legal_status,
        &c.placement,
        reason,
    );
}

fn plan_missing(pl: &mut Planner<'_>, rows: &[Row]) {
    let k = TableKind::Missing;
    let mut parsed = Vec::new();
    for r in rows {
        let kind = pl.required_code(k, r, "MISSING", MissingKind::parse);
        let start = pl.required_date(k, r, "MIS_START");
        let end = pl.date(k, r, "MIS_END");
        if let (Some(kind), Some(start)) = (kind, start) {
            if end.is_some_and(|e| e < start) {
                pl.problem(r, "MIS_END", "must not be before MIS_START");
                continue;
            }
            parsed.push((r, kind, start, end));
        }
    }
    parsed.sort_by_key(|p| p.2);
    for (r, kind, start, end) in parsed {
        match pl.facts.missing.iter().find(|m| m.start == start).cloned() {
            Some(m) if m.kind != kind => pl.conflict(r, "MISSING", m.kind.code(), kind.code()),
            Some(m) => {
                pl.out.already += 1;
                match (m.end, end) {
                    (None, Some(e)) => pl.plan(r, e, 31, MissingEpisodeEnded {}),
                    (Some(a), Some(b)) if a != b => {
                        pl.conflict(r, "MIS_END", &format_date(a), &format_date(b))
                    }
                    _ => {}
                }
            }
            None => {
                pl.plan(
                    r,
                    start,
                    30,
                    MissingEpisodeStarted {
                        kind,
                        reported_to_police: None,
                    },
                );
                if let Some(e) = end {
                    pl.plan(r, e, 30, MissingEpisodeEnded {});
                }
            }
        }
    }
}

fn plan_uasc(pl: &mut Planner<'_>, rows: &[Row], year: journey_core::codes::CollectionYear) {
    let k = TableKind::Uasc;
    let Some(r) = rows.first() else { return };
    let duc = pl.date(k, r, "DUC");
    if pl.facts.uasc.is_none() {
        // The table does not say since when: from the first episode known, or the start of the year.
        let since = pl
            .facts
            .episodes
            .first()
            .map_or(year.start_date(), |e| e.start)
            .max(pl.facts.date_of_birth.unwrap_or(year.start_date()));
        pl.plan(r, since, 20, UnaccompaniedAsylumSeekingStatusRecorded {});
        pl.facts.uasc = Some((since, None));
    } else {
        pl.out.already += 1;
    }
    if let Some(d) = duc
        && d <= year.end_date()
    {
        match pl.facts.uasc {
            Some((since, None)) if d >= since => pl.plan(r, d, 89, UnaccompaniedAsylumSeekingStatusCeased {}),
            Some((_, Some(c))) if c != d => pl.conflict(r, "DUC", &format_date(c), &format_date(d)),
            _ => {}
        }
    }
}

fn plan_adoption(pl: &mut Planner<'_>, ad1: &[Row], placed: &[Row]) {
    let mut decisions: Vec<(Date, &Row)> = Vec::new();
    for r in ad1 {
        let k = TableKind::Ad1;
        if let Some(d) = pl.date(k, r, "DATE_INT") {
            decisions.push((d, r));
        }
    }
    let mut reversals: Vec<(Date, ReasonPlacedCeased, &Row)> = Vec::new();
    for r in placed {
        let k = TableKind::PlacedAdoption;
        if let Some(d) = pl.required_date(k, r, "DATE_PLACED") {
            decisions.push((d, r));
        }
        if let Some(x) = pl.date(k, r, "DATE_PLACED_CEASED") {
            let reason = pl
                .required_code(k, r, "REASON_PLACED_CEASED", ReasonPlacedCeased::parse)
                .unwrap_or(ReasonPlacedCeased::RD4);
            reversals.push((x, reason, r));
        }
    }
    decisions.sort_by_key(|d| d.0);
    decisions.dedup_by_key(|d| d.0);
    for (d, r) in decisions {
        if pl.facts.adoption_decisions.contains(&d) {
            pl.out.already += 1;
        } else {
            pl.plan(r, d, 21, AdoptionDecisionMade {});
        }
    }
    for (x, reason, r) in reversals {
        match pl.facts.adoption_decisions_reversed.iter().find(|(d, _)| *d == x) {
            Some(_) => pl.out.already += 1,
            None => pl.plan(
                r,
                x,
                88,
                AdoptionDecisionReversed {
                    reason: Some(
                        LongText::parse(format!("{}: {}", reason.code(), reason.description()))
                            .expect("a short text"),
                    ),
                },
            ),
        }
    }
    for r in ad1 {
        let k = TableKind::Ad1;
        let Some(matched) = pl.date(k, r, "DATE_MATCH") else {
            continue;
        };
        let foster = pl.flag(k, r, "FOSTER_CARE");
        let count = pl.code(k, r, "NB_ADOPTR", |s| {
            s.parse::<u8>().map_err(|_| {
                journey_core::error::FieldError::new("NB_ADOPTR", format!("must be 1 or 2 (got {s:?})"))
            })
        });
        let sex = pl.required_code(k, r, "SEX_ADOPTR", journey_core::codes::AdopterSex::parse);
        let ls = pl.required_code(k, r, "LS_ADOPTR", journey_core::codes::AdopterLegalStatus::parse);
        let (Some(foster), Some(count), Some(sex), Some(ls)) = (foster, count, sex, ls) else {
            pl.problem(
                r,
                "DATE_MATCH",
                "a match needs FOSTER_CARE, NB_ADOPTR, SEX_ADOPTR and LS_ADOPTR",
            );
            continue;
        };
        let m = MatchedWithAdopters {
            adopter_count: count,
            adopters_sex: sex,
            adopters_legal_status: ls,
            adopters_were_foster_carers: foster,
            family_id: None,
            adopters: Vec::new(),
        };
        match pl.facts.matches.iter().find(|(d, _)| *d == matched) {
            Some((_, x)) => {
                let same = x.adopter_count == m.adopter_count
                    && x.adopters_sex == m.adopters_sex
                    && x.adopters_legal_status == m.adopters_legal_status
                    && x.adopters_were_foster_carers == m.adopters_were_foster_carers;
                if same {
                    pl.out.already += 1;
                } else {
                    pl.conflict(r, "DATE_MATCH", "another match that day", "this match");
                }
            }
            None => pl.plan(r, matched, 22, m),
        }
    }
}

fn plan_prev_perm(pl: &mut Planner<'_>, rows: &[Row], year: journey_core::codes::CollectionYear) {
    let k = TableKind::PrevPerm;
    for r in rows {
        let Some(previous) = pl.required_code(k, r, "PREV_PERM", PreviousPermanence::parse) else {
            continue;
        };
        let la = pl.code(k, r, "LA_PERM", |s| LaCode::parse(s));
        let date_cell = pl.cell(k, r, "DATE_PERM").to_string();
        let order_date = if date_cell.is_empty() {
            None
        } else {
            match partial_date_from_903(&date_cell) {
                Some(p) => Some(p),
                None => {
                    pl.problem(
                        r,
                        "DATE_PERM",
                        format!(
                            "must be dd/mm/yyyy, with zz for an unknown day or month (got {date_cell:?})"
                        ),
                    );
                    continue;
                }
            }
        };
        // For the period of care that started in the year.
        let Some(entry) = pl
            .facts
            .episodes
            .iter()
            .find(|e| e.reason_new == ReasonNewEpisode::S && year.contains(e.start))
            .map(|e| e.start)
        else {
            pl.problem(
                r,
                "CHILD",
                "previous permanence is for a child who started to be looked after in the year",
            );
            continue;
        };
        match pl
            .facts
            .previous_permanence
            .iter()
            .find(|p| p.on <= entry.add_days(31) && p.on >= entry.add_days(-366))
        {
            Some(p) if p.previous == previous && p.local_authority == la && p.order_date == order_date => {
                pl.out.already += 1
            }
            Some(p) => pl.conflict(r, "PREV_PERM", p.previous.code(), previous.code()),
            None => pl.plan(
                r,
                entry,
                20,
                PreviousPermanenceRecorded {
                    previous,
                    local_authority: la,
                    order_date,
                },
            ),
        }
    }
}

/// `zz/zz/2012` → `2012`; `zz/06/2012` → `2012-06`; `14/06/2012` → `2012-06-14`.
fn partial_date_from_903(s: &str) -> Option<PartialDate> {
    let parts: Vec<&str> = s.split('/').collect();
    let [d, m, y] = parts.as_slice() else { return None };
    let text = match (d.eq_ignore_ascii_case("zz"), m.eq_ignore_ascii_case("zz")) {
        (true, true) => y.to_string(),
        (true, false) => format!("{y}-{m}"),
        (false, false) => format!("{y}-{m}-{d}"),
        (false, true) => return None,
    };
    PartialDate::parse(text).ok()
}

fn plan_social_workers(pl: &mut Planner<'_>, rows: &[Row]) {
    let k = TableKind::SwEpisodes;
    let mut parsed = Vec::new();
    for r in rows {
        let id = pl.required_code(k, r, "SW_ID", |s| WorkerId::parse(s));
        let start = pl.required_date(k, r, "SW_DECOM");
        let end = pl.date(k, r, "SW_DEC");
        let reason = pl.code(k, r, "SW_REASON", SocialWorkerChangeReason::parse);
        if let (Some(id), Some(start)) = (id, start) {
            parsed.push((r, id, start, end, reason));
        }
    }
    parsed.sort_by_key(|p| p.2);
    let starts: Vec<Date> = parsed.iter().map(|p| p.2).collect();
    for (r, id, start, end, reason) in parsed {
        // The same allocation: the same worker allocated that day, or earlier and still allocated when the
        // period of care began (the export starts a social worker episode no earlier than the period).
        let period_start = pl
            .facts
            .episodes
            .iter()
            .any(|e| e.reason_new == ReasonNewEpisode::S && e.start == start);
        let existing = pl
            .facts
            .social_workers
            .iter()
            .find(|s| {
                s.worker == id
                    && (s.start == start || (period_start && s.start < start))
                    && s.end.is_none_or(|e| e >= start)
            })
            .cloned();
        match existing {
            Some(s) => {
                pl.out.already += 1;
                if s.end.is_none()
                    && let Some(e) = end
                    && !starts.contains(&e)
                {
                    pl.plan(
                        r,
                        e,
                        89,
                        WorkerAllocationEnded {
                            role: WorkerRole::SocialWorker,
                            reason: None,
                        },
                    );
                }
            }
            None => {
                // As the log will have it: the new allocation replaces the open one.
                if let Some(prev) = pl.facts.social_workers.iter_mut().rev().find(|s| s.end.is_none()) {
                    prev.end = Some(start);
                }
                pl.facts.social_workers.push(super::facts::SocialWorkerSpell {
                    worker: id.clone(),
                    start,
                    end: end.filter(|e| !starts.contains(e)),
                    reason,
                });
                pl.plan(
                    r,
                    start,
                    5,
                    WorkerAllocated {
                        role: WorkerRole::SocialWorker,
                        worker: Professional {
                            worker_id: id,
                            name: None,
                            role: None,
                            organisation: None,
                        },
                        team: None,
                        change_reason: reason,
                    },
                );
                // Ended with no successor starting that day: the allocation ended.
                if let Some(e) = end
                    && !starts.contains(&e)
                {
                    pl.plan(
                        r,
                        e,
                        89,
                        WorkerAllocationEnded {
                            role: WorkerRole::SocialWorker,
                            reason: None,
                        },
                    );
                }
            }
        }
    }
}

fn plan_oc2(pl: &mut Planner<'_>, rows: &[Row], year: journey_core::codes::CollectionYear, dob: Date) {
    let k = TableKind::Oc2;
    let Some(r) = rows.first() else { return };
    let on = year.end_date();
    let child = pl.child.clone();
    let have = oc2_row(&pl.facts, year, &child, dob, &format_date(dob));
    let col = |c: &str| k.columns().iter().position(|x| *x == c).expect("an OC2 column");
    let want = |c: &str| r.cells[col(c)].as_str();
    let had = |c: &str| have[col(c)].as_str();
    let mut changed = false;
    // The SDQ.
    if (want("SDQ_SCORE"), want("SDQ_REASON")) != (had("SDQ_SCORE"), had("SDQ_REASON"))
        && !(want("SDQ_SCORE").is_empty() && want("SDQ_REASON").is_empty())
    {
        let score = pl.code(k, r, "SDQ_SCORE", |s| {
            s.parse::<u8>().map_err(|_| {
                journey_core::error::FieldError::new("SDQ_SCORE", format!("must be 0 to 40 (got {s:?})"))
            })
        });
        let reason = pl.code(k, r, "SDQ_REASON", SdqReason::parse);
        pl.plan(
            r,
            on,
            60,
            SdqScoreRecorded {
                score,
                reason_not_completed: if score.is_some() { None } else { reason },
            },
        );
        changed = true;
    }
    type Make = fn() -> EventPayload;
    let flags: [(&str, Make); 3] = [
        ("CONVICTED", || {
            ChildConvicted {
                outcome: ConvictionKind::Conviction,
            }
            .into()
        }),
        ("HEALTH_ASSESSMENT", || {
            HealthAssessmentCompleted {
                kind: HealthAssessmentKind::Review,
            }
            .into()
        }),
        ("TEETH_CHECK", || DentalCheckCompleted {}.into()),
    ];
    for (c, make) in flags {
        match (had(c), pl.flag(k, r, c)) {
            ("0", Some(true)) | ("", Some(true)) => {
                pl.plan(r, on, 61, make());
                changed = true;
            }
            ("1", Some(false)) => pl.conflict(r, c, "1", "0"),
            _ => {}
        }
    }
    if let Some(up) = pl.flag(k, r, "IMMUNISATIONS")
        && had("IMMUNISATIONS") != want("IMMUNISATIONS")
    {
        pl.plan(r, on, 61, ImmunisationsRecorded { up_to_date: up });
        changed = true;
    }
    if pl.flag(k, r, "SUBSTANCE_MISUSE") == Some(true)
        && (
            had("SUBSTANCE_MISUSE"),
            had("INTERVENTION_RECEIVED"),
            had("INTERVENTION_OFFERED"),
        ) != (
            want("SUBSTANCE_MISUSE"),
            want("INTERVENTION_RECEIVED"),
            want("INTERVENTION_OFFERED"),
        )
    {
        let intervention = if want("INTERVENTION_RECEIVED") == "1" {
            SubstanceMisuseIntervention::Received
        } else if want("INTERVENTION_OFFERED") == "1" {
            SubstanceMisuseIntervention::OfferedAndRefused
        } else {
            SubstanceMisuseIntervention::NotOffered
        };
        pl.plan(
            r,
            on,
            61,
            SubstanceMisuseIdentified {
                intervention: Some(intervention),
            },
        );
        changed = true;
    }
    if !changed {
        pl.out.already += 1;
    }
}

fn plan_oc3(pl: &mut Planner<'_>, rows: &[Row], year: journey_core::codes::CollectionYear, dob: Date) {
    let k = TableKind::Oc3;
    let Some(r) = rows.first() else { return };
    let child = pl.child.clone();
    let have = oc3_row(&pl.facts, year, &child, dob, &format_date(dob));
    if have.as_ref().is_some_and(|h| h[2..] == r.cells[2..]) {
        pl.out.already += 1;
        return;
    }
    let Some(birthday) = (17..=21).map(|n| dob.add_years(n)).find(|b| year.contains(*b)) else {
        pl.problem(
            r,
            "DOB",
            "OC3 is for young people whose 17th to 21st birthday falls in the year",
        );
        return;
    };
    let in_touch = pl.required_code(k, r, "IN_TOUCH", InTouch::parse);
    let activity = pl.code(k, r, "ACTIV", CareLeaverActivity::parse);
    let accommodation = pl.code(k, r, "ACCOM", CareLeaverAccommodation::parse);
    let Some(in_touch) = in_touch else { return };
    if pl.facts.care_leaver_contacts.iter().any(|c| c.on == birthday) {
        pl.conflict(r, "IN_TOUCH", "another contact on the birthday", in_touch.code());
        return;
    }
    pl.plan(
        r,
        birthday,
        70,
        CareLeaverContactRecorded {
            in_touch,
            activity,
            accommodation,
            mode: None,
        },
    );
}
