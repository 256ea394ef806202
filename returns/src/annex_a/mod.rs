//! Ofsted's ILACS Annex A: the eleven child-level lists an authority gives inspectors, for a window the
//! caller chooses (Annex A covers the 6 or 12 months before the inspection), built from the log as it stood
//! at a known-at instant, as CSV files or one Excel workbook.
//!
//! ```no_run
//! # async fn demo(store: &dyn journey_core::store::EventStore, at: journey_core::Timestamp)
//! # -> journey_core::Result<()> {
//! use journey_returns::annex_a::{self, AnnexAWindow};
//! let window = AnnexAWindow { start: "2025-04-01".parse()?, end: "2026-03-31".parse()? };
//! let lists = annex_a::export(store, window, at).await?;
//! lists.write_csv(std::path::Path::new("out/annex-a"))?;
//! std::fs::write("out/annex-a.xlsx", lists.to_xlsx()?)?;
//! # Ok(()) }
//! ```
//!
//! # Reading the record
//! Every child's stream as known at `known_at`
//! ([`streams_known_at`](crate::ssda903::streams_known_at)), then the events in force then
//! ([`known_at`](journey_core::view::known_at): corrections applied, retractions dropped), in the order they
//! occurred; the SSDA903 facts (episodes, reviews, health, missing, care leaver contacts, adoption
//! decisions) are reused and the rest is folded in [`AnnexFacts`]. An event recorded after `known_at` is
//! absent, whatever its date.
//!
//! # Columns and values
//! Headings as `shared/domain/rules.md` §6.4 gives them ([`ListKind::columns`]). Lists 1 to 10 start with
//! Child Unique ID, the sex column, Ethnicity, Date of Birth and Age of Child (Years), the age in
//! completed years on the window's **end date**. The sex column is headed **"Sex" when the window ends in
//! 2026 or later** and "Gender" before (Ofsted's schema renamed it from 2026, `Annex_A_schema_2026.diff.yml`;
//! the end date decides because the lists are what the authority holds at the end of the window).
//!
//! Values: DfE codes as the DfE lists spell them (sex `M`/`F`/`U`, ethnicity `WBRI`, referral source,
//! primary need, category of abuse, legal status, placement type...); Journey's own lists by their
//! description (permanence plan, placement location); yes/no as `Y`/`N`; dates `dd/mm/yyyy` in the CSV
//! and real dates (shown `dd/mm/yyyy`) in the workbook; counts as numbers. Ofsted's guidance prefixes some
//! values with letters ("a) Male"); that wording was not retrieved (rules.md §6.4 marks it UNCONFIRMED), so
//! the codes are given unchanged. "Disability" is `Y` when a disability is recorded, `N` when "no
//! disability" (`NONE`) is, empty when nothing is. Team and Worker are the social worker allocation
//! (`WorkerAllocated`) in force on the day the row describes (the episode's last day in the window, else
//! the window's end); the worker is named as recorded, else by their worker id. Every row describes its
//! episode as it stood on that day: a primary need, a category of abuse, a closure or an authorisation
//! dated after it is not shown.
//!
//! # Who is in each list
//! 1. **Contacts** (`ContactReceived`) dated in the window.
//! 2. **Early help** episodes (`EarlyHelpStarted`, the assessment's start) started in the window or whose
//!    assessment (`EarlyHelpAssessmentCompleted`) was completed in it.
//! 3. **Referrals** (`ReferralReceived`) in the window. "Number of Referrals in Last 12 Months" counts the
//!    child's referrals after the referral date less one year up to and including this one.
//! 4. **Assessments** open on some day of the window. The date of authorisation is `authorised_on`, or the
//!    completion date when none is recorded (the event records it only when later).
//! 5. **Section 47 enquiries** open on some day of the window; the strategy discussion is the latest that
//!    decided on an enquiry before it; the ICPC the first initial conference after its start (and before the
//!    next enquiry); "ICPC deemed unnecessary" `N` when the enquiry concluded a conference was needed, `Y`
//!    otherwise, empty while it is open; enquiries are counted over the twelve months up to the enquiry's
//!    start (this one included), initial conferences over the twelve months up to this enquiry's
//!    conference (its start when it had none).
//! 6. **Children in need**: every child in need episode (opened by a referral, closed by
//!    `ChildInNeedEpisodeClosed`) open on some day of the window. Case Status on the episode's last day in
//!    the window: `Closed`, else `Looked after`, `Child protection plan` or `Child in need` (wording
//!    UNCONFIRMED). The date last seen is the latest visit at which the child was seen.
//! 7. **Child protection plans** open on some day of the window; the last statutory visit is the latest
//!    child protection visit; EPO/police protection looks at the six months up to the row's day; previous
//!    plans are the plans that started before this one.
//! 8. **Children looked after** on some day of the window: one row per child, for the latest period of care
//!    then. Placements count the starts of a period and changes of placement (`RNE` S, P, B) in the twelve
//!    months up to the row's day; "Second/subsequent period" is `Y` when more than one period of care
//!    overlaps those twelve months; missing and absent episodes are those that started in them; a return
//!    interview is "offered" `Y` when any was offered, held or declined in them (empty when the child was
//!    never missing or absent), "accepted" `Y` when one was held, `N` when declined.
//! 9. **Care leavers** at the window's end: aged 16 to 24, not looked after, eligibility category as
//!    `shared/domain/rules.md` §4.1 defines it (see `rows::care_leaver_category`): relevant, former
//!    relevant, qualifying. Not applied: the relevant-child exception for a return home that lasted six
//!    months, detention or hospital on the 16th birthday, special guardianship (s24(1A)), and private
//!    fostering (the log does not hold what they need). In touch, accommodation (type and suitability, from
//!    the SSDA903 `ACCOM` code's letter and digit) and activity are the latest care leaver contact's.
//! 10. **Adoption**: children with an adoption decision, a placement order, a match, a placement for
//!     adoption, an adoption order or a reversed decision dated in the window; each date is the latest on
//!     or before the window's end; the family identifier is the matched family's
//!     (`MatchedWithAdopters.family_id`); the FFA placement is the latest placement of type U2 or U5.
//! 11. **Adopters**: Journey's log is one stream per **child**, so adopters appear only through the
//!     children matched with them (`MatchedWithAdopters`, `PlacedForAdoption`, adoption orders). Each family
//!     matched with a child in list 10 is one row per adopter the matches name (one row with the adopter id
//!     empty when none is named), grouped by family id (a match without one is a family of its own): the
//!     first match date, the first placement date, the number of children placed with the family, the
//!     latest adoption order. The sex of an individual is known only for a single adopter (`M1`/`F1`).
//!
//! # Columns the log cannot supply (left empty, never invented)
//! * List 11: Ethnicity, Disability, Fostering for adoption?, Date enquiry received, Stage 1 start and end,
//!   Stage 2 start and end, Application submitted and approved, Date of leaving process, Reason; the sex of
//!   a couple's members. The adopter approval process is the adoption agency's record, not the child's.
//! * Everywhere: a value the stream never recorded (no ethnicity, no allocation, no date of birth for a
//!   child registered before birth), and anything after the window's end (a closure after it is empty).

mod facts;
mod lists;
mod rows;
mod xlsx;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use journey_core::error::Result;
use journey_core::store::EventStore;
use journey_core::time::{Date, Timestamp};

pub use facts::{
    AllocationSpell, AnnexFacts, Assessment, Conference, EarlyHelpSpell, MatchFact, PlacementFact,
    ProtectionPlan, Referral, ReturnInterview, Section47, VisitFact,
};
pub use lists::{ColumnKind, ListKind, sex_heading};

/// The period the lists cover: both days included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnexAWindow {
    pub start: Date,
    pub end: Date,
}

impl AnnexAWindow {
    /// Whether `on` is in the window (both ends included).
    pub fn contains(self, on: Date) -> bool {
        on >= self.start && on <= self.end
    }

    /// Whether `[start, end]` (still open while `end` is `None`) has a day in the window.
    pub fn overlaps(self, start: Date, end: Option<Date>) -> bool {
        start <= self.end && end.is_none_or(|x| x >= self.start)
    }
}

/// One list: its name ("List 1 - Contacts"), headings and rows of cells as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    pub kind: ListKind,
    pub name: String,
    pub headings: Vec<String>,
    /// The kind of each column, in heading order (for the workbook).
    pub column_kinds: Vec<ColumnKind>,
    pub rows: Vec<Vec<String>>,
}

impl List {
    /// The list as CSV, headings first.
    pub fn csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headings).map_err(std::io::Error::from)?;
        for row in &self.rows {
            w.write_record(row).map_err(std::io::Error::from)?;
        }
        Ok(w.into_inner().map_err(|e| e.into_error())?)
    }

    /// The cell under `heading` in row `row`.
    pub fn cell(&self, row: usize, heading: &str) -> Option<&str> {
        let col = self.headings.iter().position(|h| h == heading)?;
        self.rows.get(row)?.get(col).map(String::as_str)
    }
}

/// The eleven lists of a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnexA {
    pub window: AnnexAWindow,
    pub lists: Vec<List>,
}

impl AnnexA {
    /// The list of `kind` (every kind is there in an export).
    pub fn list(&self, kind: ListKind) -> Option<&List> {
        self.lists.iter().find(|l| l.kind == kind)
    }

    /// Writes one CSV file per list into `dir` (created if missing), headings first; returns the paths in
    /// list order.
    pub fn write_csv(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut out = Vec::with_capacity(self.lists.len());
        for list in &self.lists {
            let path = dir.join(list.kind.file_name());
            std::fs::write(&path, list.csv()?)?;
            out.push(path);
        }
        Ok(out)
    }

    /// Every child named in the lists (the Child Unique ID of lists 1 to 10), once each, in id order: whose
    /// records a reader of these lists has read.
    pub fn children(&self) -> Vec<journey_core::ids::ChildId> {
        let mut ids: Vec<journey_core::ids::ChildId> = self
            .lists
            .iter()
            .filter(|l| l.kind != ListKind::Adopters)
            .flat_map(|l| l.rows.iter().filter_map(|r| r.first()))
            .filter_map(|id| journey_core::ids::ChildId::parse(id).ok())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The workbook: one sheet per list, named as the list, headings in bold on a frozen first row, dates
    /// as Excel dates shown `dd/mm/yyyy`, counts as numbers.
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        xlsx::workbook(self)
    }
}

/// The eleven lists for `window` from every child in `store`, as the record stood at `known_at`.
pub async fn export(store: &dyn EventStore, window: AnnexAWindow, known_at: Timestamp) -> Result<AnnexA> {
    let streams = crate::ssda903::streams_known_at(store, known_at).await?;
    Ok(from_facts(
        window,
        streams
            .values()
            .map(|events| AnnexFacts::from_stream(events, known_at)),
    ))
}

/// The lists for `window` from children's facts, in the order given (the export gives child id order).
pub fn from_facts(window: AnnexAWindow, children: impl IntoIterator<Item = AnnexFacts>) -> AnnexA {
    let mut b = rows::Builder::new(window);
    for c in children {
        b.add_child(&c);
    }
    let mut rows = b.finish();
    let sex = sex_heading(window.end.year());
    let lists = ListKind::ALL
        .iter()
        .map(|kind| {
            let columns = kind.columns(sex);
            let rows = rows.remove(kind).unwrap_or_default();
            debug_assert!(rows.iter().all(|r| r.len() == columns.len()), "{kind}");
            List {
                kind: *kind,
                name: kind.name(),
                headings: columns.iter().map(|(h, _)| h.to_string()).collect(),
                column_kinds: columns.iter().map(|(_, k)| *k).collect(),
                rows,
            }
        })
        .collect();
    AnnexA { window, lists }
}
