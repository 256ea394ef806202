//! Import of Children in Need census XML as events on each child's stream: the other half of
//! [`export`](super::export), so that an authority starts with its census history on day one.
//!
//! * **Facts, not a copy of the file.** A `CINdetails` block becomes `ReferralReceived` (source, primary
//!   need, NFA) and `ChildInNeedEpisodeClosed`; its assessments `AssessmentStarted`, `AssessmentReviewed` and
//!   `AssessmentCompleted` (factors, authorisation date); its CIN plans `ChildInNeedPlanStarted`/`Ended`; its
//!   section 47s `Section47Started` and, once concluded, `Section47Completed`; the initial conference an
//!   initial `ChildProtectionConferenceHeld`; its plans `ChildProtectionPlanStarted`, a review conference for
//!   each review, `ChildProtectionCategoryChanged` when the latest category differs, and
//!   `ChildProtectionPlanEnded`. The child's identifiers and characteristics become `ChildRegistered` (on the
//!   date of birth) and `ChildDied`.
//! * **What the census does not say is not invented, except where the log needs a value.** No strategy
//!   discussion is recorded (the census does not say who took part); the enquiry starts on
//!   `S47ActualStartDate`. The census gives no date for an enquiry's conclusion, nor whether concerns were
//!   substantiated: a concluded enquiry is recorded as concluding on the day it started, `conference_required`
//!   when an initial conference followed, `not_substantiated` when `ICPCnotRequired`. A category change is
//!   dated at the plan's latest review (else its start); a plan's end carries the reason `other`, the census
//!   having none. The module documentation of [`export`](super::export) reads these back to the same census.
//! * **Merging years.** Each child's stream is read first and turned into census terms
//!   ([`child_history`](super::child_history)); an episode is the same episode when its referral date is,
//!   an assessment, plan, enquiry or child protection plan the same when its start date is. A fact already
//!   there is not recorded again; a later year filling in what an earlier one left open (an authorisation,
//!   an end, a closure) is recorded; a fact that disagrees with the log (another closure date, another
//!   source, a date of birth) is a **conflict**, reported with the element it came from, and that child gets
//!   nothing from this import. What the log holds and a census does not mention is left alone.
//! * **All or nothing per child, idempotent.** A child's new events from every file go in one append with
//!   the version read as the expected version; event ids are derived from the child and the fact, so a
//!   re-import appends nothing.
//! * **What cannot be recorded is reported, not dropped silently.** `NumberOfPreviousCPP` counts plans the
//!   log may not hold (before the first imported year): a census counting more than the log knows is listed
//!   in `unrecorded`.
//! * **Provenance.** `source` is `{agency, "cin-import"}`, `source_recorded_at` when the authority produced
//!   the census (the caller says), `correlation_id` the file and line: `cin:2024-25:census.xml:118`.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};
use roxmltree::{Document, Node};
use serde::Serialize;

use super::{CinChild, CinEpisode, ProtectionPlan, Section47, child_history, recorded};
use crate::report::{ChildOutcome, ChildTally, flagged_identifier};
use crate::ssda903::import::{ChildAppend, append_child, fact_event_id, imported_event, read_all, sanitise};
use crate::ssda903::{ImportFile, ImportOptions, ImportProgress, RowProblem};
use journey_core::codes::{
    AbuseCategory, AssessmentFactor, CinClosureReason, CodeList, CollectionYear, Disability, Ethnicity,
    PrimaryNeed, ReferralSource, Sex, UpnUnknownReason,
};
use journey_core::domain::lists::{
    ConferenceKind, ConferenceOutcome, CpPlanEndReason, IdentifierKind, Section47Outcome,
};
use journey_core::domain::{
    AssessmentCompleted, AssessmentReviewed, AssessmentStarted, ChildDetailsAmended, ChildDied,
    ChildInNeedEpisodeClosed, ChildInNeedPlanEnded, ChildInNeedPlanStarted, ChildProtectionCategoryChanged,
    ChildProtectionConferenceHeld, ChildProtectionPlanEnded, ChildProtectionPlanStarted, ChildRegistered,
    EventPayload, LongText, ReferralReceived, Section47Completed, Section47Started, Upn,
};
use journey_core::envelope::NewEvent;
use journey_core::error::Result;
use journey_core::ids::{ChildId, EventId, Source, SystemId};
use journey_core::store::EventStore;
use journey_core::time::Date;

/// What a census import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CinImportReport {
    /// Each file: its name, the collection year its header names (none when unreadable), its children.
    pub files: Vec<CinFileSummary>,
    /// The children: imported, unchanged, refused and why. In every list `row` is the line in the file and
    /// `column` the element's path.
    #[serde(flatten)]
    pub tally: ChildTally,
    /// Facts the log cannot hold (reported; the child's other facts are imported).
    pub unrecorded: Vec<RowProblem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CinFileSummary {
    pub file: String,
    pub year: Option<CollectionYear>,
    pub children: usize,
}

/// Where an element is: its file, line and path (`Child[3]/CINdetails[1]/Assessments[2]`).
#[derive(Clone, Debug)]
struct At {
    file: usize,
    line: usize,
    path: String,
}

/// A census child as read, with where each part of it came from (parallel to the census structures).
#[derive(Debug)]
struct ReadChild {
    year: CollectionYear,
    /// Some element of it was bad (reported as it was read): nothing of the child is imported.
    bad: bool,
    at: At,
    child: CinChild,
    episodes: Vec<EpisodeAt>,
    /// Identifiers that fail their check, kept as recorded.
    flags: Vec<Flag>,
}

#[derive(Debug)]
struct EpisodeAt {
    at: At,
    assessments: Vec<At>,
    plans: Vec<At>,
    section47s: Vec<At>,
    protection_plans: Vec<At>,
}

/// Imports census files (each a year's census; the year is read from its header) into `store`; see the
/// module documentation. `options.year` is not used.
pub async fn import_census(
    store: &dyn EventStore,
    files: &[ImportFile],
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<CinImportReport> {
    let mut report = CinImportReport::default();
    let mut children: BTreeMap<String, Vec<ReadChild>> = BTreeMap::new();
    let mut names = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        names.push((file.name.clone(), None));
        let mut reader = Reader {
            file: fi,
            name: &file.name,
            problems: Vec::new(),
            flags: Vec::new(),
            line_starts: Vec::new(),
        };
        let (year, read) = reader.census(&file.bytes);
        names[fi].1 = year;
        report.files.push(CinFileSummary {
            file: file.name.clone(),
            year,
            children: read.len(),
        });
        report.tally.problems.extend(reader.problems);
        for (key, child) in read {
            children.entry(key).or_default().push(child);
        }
    }
    progress.children_found(children.len());
    let names = &names;
    let outcomes: Vec<Result<(String, ChildOutcome)>> =
        stream::iter(children.into_iter().map(|(key, reads)| async move {
            let outcome = import_child(store, options, names, &key, reads).await;
            progress.child_done();
            outcome.map(|o| (key, o))
        }))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        let (child, o) = outcome?;
        let unrecorded = report.tally.add(&child, o);
        report.unrecorded.extend(unrecorded);
    }
    report.tally.finish();
    let key = |p: &RowProblem| (p.file.clone(), p.row, p.column.clone());
    report.unrecorded.sort_by_key(key);
    Ok(report)
}

/// Reads one file into census children, keyed by `LAchildID`, collecting problems. A child with a bad
/// element is still returned (so that it is refused as a whole, never half-imported) with the problem
/// naming it.
struct Reader<'a> {
    file: usize,
    name: &'a str,
    problems: Vec<RowProblem>,
    /// Identifiers of the child being read that fail their check (kept as recorded, not refused).
    flags: Vec<Flag>,
    /// Where each line of the file being read starts (byte offsets).
    line_starts: Vec<usize>,
}

/// An identifier as read that fails its check.
#[derive(Clone, Debug)]
struct Flag {
    identifier: IdentifierKind,
    recorded: String,
    rule: String,
    line: usize,
    path: String,
}

fn children_of<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child_of<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children_of(node, name).next()
}

impl Reader<'_> {
    fn line(&self, node: Node<'_, '_>) -> usize {
        self.line_at(node.range().start)
    }

    /// The line (from 1) holding byte `pos` of the file. roxmltree's `text_pos_at` counts from the start of
    /// the text every time, which made reading a census quadratic in its size.
    fn line_at(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|start| *start <= pos)
    }

    fn problem(&mut self, line: usize, path: &str, rule: impl Into<String>, child: Option<&str>) {
        self.problems.push(RowProblem {
            file: self.name.to_owned(),
            row: line,
            column: path.to_owned(),
            rule: rule.into(),
            child: child.map(str::to_owned),
        });
    }

    fn census(&mut self, bytes: &[u8]) -> (Option<CollectionYear>, Vec<(String, ReadChild)>) {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                self.problem(1, "", format!("is not UTF-8 text: {e}"), None);
                return (None, Vec::new());
            }
        };
        self.line_starts = std::iter::once(0).chain(line_breaks(text)).collect();
        let doc = match Document::parse(text) {
            Ok(d) => d,
            Err(e) => {
                let line = e.pos().row as usize;
                self.problem(line, "", format!("is not well-formed XML: {e}"), None);
                return (None, Vec::new());
            }
        };
        let root = doc.root_element();
        if root.tag_name().name() != "Message" {
            self.problem(
                1,
                root.tag_name().name(),
                "the root element must be Message",
                None,
            );
            return (None, Vec::new());
        }
        let details = child_of(root, "Header").and_then(|h| child_of(h, "CollectionDetails"));
        let collection = details
            .and_then(|d| child_of(d, "Collection"))
            .and_then(|n| n.text());
        if collection.map(str::trim) != Some("CIN") {
            self.problem(
                1,
                "Header/CollectionDetails/Collection",
                "must be CIN (this is not a Children in Need census)",
                None,
            );
            return (None, Vec::new());
        }
        let year_node = details.and_then(|d| child_of(d, "Year"));
        let year = year_node
            .and_then(|n| n.text())
            .and_then(|t| t.trim().parse::<i16>().ok())
            .and_then(|y| CollectionYear::new(y).ok());
        let Some(year) = year else {
            let line = year_node.map_or(1, |n| self.line(n));
            self.problem(
                line,
                "Header/CollectionDetails/Year",
                format!(
                    "must be the year the collection ends, {} to {}",
                    CollectionYear::FIRST_SUPPORTED.ending_year(),
                    CollectionYear::LAST_SUPPORTED.ending_year()
                ),
                None,
            );
            return (None, Vec::new());
        };
        let mut out = Vec::new();
        let Some(children) = child_of(root, "Children") else {
            return (Some(year), out);
        };
        for (i, node) in children_of(children, "Child").enumerate() {
            let at = At {
                file: self.file,
                line: self.line(node),
                path: format!("Child[{}]", i + 1),
            };
            if let Some(read) = self.child(node, year, at) {
                out.push(read);
            }
        }
        (Some(year), out)
    }

    /// The text of `node`'s child element `name`, trimmed; `None` when absent or empty.
    fn text<'a>(node: Node<'a, '_>, name: &'static str) -> Option<&'a str> {
        let t = child_of(node, name)?.text().map(str::trim).unwrap_or("");
        (!t.is_empty()).then_some(t)
    }
}

fn date_value(text: &str) -> std::result::Result<Date, String> {
    Date::parse_field("date", text).map_err(|_| format!("must be a date YYYY-MM-DD (got {text:?})"))
}

fn code_value<T: CodeList>(text: &str) -> std::result::Result<T, String> {
    T::parse(text).map_err(|e| e.message)
}

fn upn_value(text: &str) -> std::result::Result<Upn, String> {
    Upn::parse(text).map_err(|e| e.message)
}

/// Reads the values of one element's children, reporting each bad one against the element's path.
struct Fields<'r, 'a, 'd, 'i> {
    reader: &'r mut Reader<'a>,
    node: Node<'d, 'i>,
    path: String,
    child: Option<String>,
}

impl<'a, 'd, 'i> Fields<'_, 'a, 'd, 'i> {
    fn value(&self, name: &'static str) -> Option<(String, usize)> {
        let n = child_of(self.node, name)?;
        let t = n.text().map(str::trim).unwrap_or("");
        (!t.is_empty()).then(|| (t.to_owned(), self.reader.line_at(n.range().start)))
    }

    fn bad(&mut self, line: usize, name: &str, rule: impl Into<String>) {
        let path = format!("{}/{name}", self.path);
        let child = self.child.clone();
        self.reader.problem(line, &path, rule, child.as_deref());
    }

    /// The value of child element `name` as `parse` reads it; a value it refuses is reported with the rule
    /// it gives. `None` when absent, empty or refused.
    fn parsed<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let (text, line) = self.value(name)?;
        match parse(&text) {
            Ok(v) => Some(v),
            Err(rule) => {
                self.bad(line, name, rule);
                None
            }
        }
    }

    /// An identifier: one that fails its check is kept aside as recorded (flagged, not used), not reported
    /// as a bad value, so the child is still imported.
    fn identifier<T>(
        &mut self,
        name: &'static str,
        identifier: IdentifierKind,
        parse: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        let (text, line) = self.value(name)?;
        match parse(&text) {
            Ok(v) => Some(v),
            Err(rule) => {
                let path = format!("{}/{name}", self.path);
                self.reader.flags.push(Flag {
                    identifier,
                    recorded: text,
                    rule,
                    line,
                    path,
                });
                None
            }
        }
    }

    /// [`Fields::parsed`], and reported as missing when absent.
    fn required<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Option<T> {
        if self.value(name).is_none() {
            let line = self.reader.line_at(self.node.range().start);
            self.bad(line, name, "is required");
            return None;
        }
        self.parsed(name, parse)
    }

    fn date(&mut self, name: &'static str) -> Option<Date> {
        self.parsed(name, date_value)
    }

    fn code<T: CodeList>(&mut self, name: &'static str) -> Option<T> {
        self.parsed(name, code_value)
    }

    fn flag(&mut self, name: &'static str) -> Option<bool> {
        self.parsed(name, |t| match t {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("must be true or false (got {t:?})")),
        })
    }

    /// Every child element `name` of `list`, each read as a code (a bad one reported at its own line).
    fn codes<T: CodeList>(&mut self, list: Node<'_, '_>, name: &'static str) -> Vec<T> {
        let mut out = Vec::new();
        for item in children_of(list, name) {
            let text = item.text().map(str::trim).unwrap_or("");
            match code_value(text) {
                Ok(v) => out.push(v),
                Err(rule) => {
                    let line = self.reader.line_at(item.range().start);
                    self.bad(line, name, rule);
                }
            }
        }
        out
    }

    /// Where this element is.
    fn at(&self) -> At {
        At {
            file: self.reader.file,
            line: self.reader.line_at(self.node.range().start),
            path: self.path.clone(),
        }
    }

    fn within(&mut self, node: Node<'d, 'i>, path: String) -> Fields<'_, 'a, 'd, 'i> {
        Fields {
            reader: self.reader,
            node,
            path,
            child: self.child.clone(),
        }
    }
}

impl Reader<'_> {
    fn child(&mut self, node: Node<'_, '_>, year: CollectionYear, at: At) -> Option<(String, ReadChild)> {
        let before = self.problems.len();
        self.flags.clear();
        let mut read = self.read_child(node, year, at)?;
        read.1.bad = self.problems.len() > before;
        read.1.flags = std::mem::take(&mut self.flags);
        Some(read)
    }

    fn read_child(
        &mut self,
        node: Node<'_, '_>,
        year: CollectionYear,
        at: At,
    ) -> Option<(String, ReadChild)> {
        let Some(ids) = child_of(node, "ChildIdentifiers") else {
            self.problem(
                at.line,
                &format!("{}/ChildIdentifiers", at.path),
                "is required",
                None,
            );
            return None;
        };
        let key = match Self::text(ids, "LAchildID") {
            Some(t) => t.to_owned(),
            None => {
                self.problem(
                    at.line,
                    &format!("{}/ChildIdentifiers/LAchildID", at.path),
                    "is required: the child's identifier in the authority's system",
                    None,
                );
                return None;
            }
        };
        let mut f = Fields {
            reader: self,
            node: ids,
            path: format!("{}/ChildIdentifiers", at.path),
            child: Some(key.clone()),
        };
        let child_id = match ChildId::parse(key.clone()) {
            Ok(id) => Some(id),
            Err(e) => {
                let line = f.value("LAchildID").map_or(at.line, |v| v.1);
                f.bad(line, "LAchildID", e.message);
                None
            }
        };
        let upn = f.identifier("UPN", IdentifierKind::Upn, upn_value);
        let former_upn = f.identifier("FormerUPN", IdentifierKind::FormerUpn, upn_value);
        let upn_unknown = f.code::<UpnUnknownReason>("UPNunknown");
        let date_of_birth = f.date("PersonBirthDate");
        let expected_date_of_birth = f.date("ExpectedPersonBirthDate");
        if date_of_birth.is_none() && expected_date_of_birth.is_none() && f.value("PersonBirthDate").is_none()
        {
            let line = f.reader.line_at(ids.range().start);
            f.bad(
                line,
                "PersonBirthDate",
                "is required (or ExpectedPersonBirthDate for an unborn child)",
            );
        }
        let sex = match (f.value("Sex"), f.value("GenderCurrent")) {
            (Some(_), _) => f.code::<Sex>("Sex"),
            (None, Some(_)) => f.parsed("GenderCurrent", |g| match g {
                "1" => Ok(Sex::M),
                "2" => Ok(Sex::F),
                "0" | "9" => Ok(Sex::U),
                _ => Err(format!("must be 1, 2, 0 or 9 (got {g:?})")),
            }),
            (None, None) => f.required("Sex", code_value::<Sex>),
        };
        let died = f.date("PersonDeathDate");
        let mut child = CinChild {
            child_id,
            upn,
            former_upn,
            upn_unknown,
            date_of_birth,
            expected_date_of_birth,
            sex,
            died,
            ethnicity: None,
            disabilities: Vec::new(),
            episodes: Vec::new(),
        };
        if let Some(chars) = child_of(node, "ChildCharacteristics") {
            let mut f = f.within(chars, format!("{}/ChildCharacteristics", at.path));
            child.ethnicity = f.code::<Ethnicity>("Ethnicity").filter(|e| *e != Ethnicity::NOBT);
            if let Some(list) = child_of(chars, "Disabilities") {
                let mut f = f.within(list, format!("{}/ChildCharacteristics/Disabilities", at.path));
                child.disabilities = f.codes::<Disability>(list, "Disability");
                child.disabilities.retain(|d| *d != Disability::NONE);
            }
        }
        let mut episodes_at = Vec::new();
        for (j, cin) in children_of(node, "CINdetails").enumerate() {
            let path = format!("{}/CINdetails[{}]", at.path, j + 1);
            let line = f.reader.line_at(cin.range().start);
            let mut e = f.within(cin, path.clone());
            let referral = e.required("CINreferralDate", date_value);
            let source = e.required("ReferralSource", code_value::<ReferralSource>);
            let need = e.required("PrimaryNeedCode", code_value::<PrimaryNeed>);
            let closed = e.date("CINclosureDate");
            let reason = e.code::<CinClosureReason>("ReasonForClosure");
            if e.value("CINclosureDate").is_some() != e.value("ReasonForClosure").is_some() {
                e.bad(
                    line,
                    "ReasonForClosure",
                    "CINclosureDate and ReasonForClosure go together: give both or neither",
                );
            }
            let initial_conference = e.date("DateOfInitialCPC");
            let nfa = e.flag("ReferralNFA").unwrap_or(false);
            // A missing or bad value has been reported, and the child will be refused whole: the stand-ins
            // below only keep the reading going, and are never recorded.
            let mut episode = CinEpisode {
                referral: referral.unwrap_or(year.start_date()),
                source: source.unwrap_or(ReferralSource::ALL[0]),
                primary_need: need.unwrap_or(PrimaryNeed::ALL[0]),
                referral_nfa: nfa,
                closure: closed.zip(reason),
                initial_conference,
                assessments: Vec::new(),
                plans: Vec::new(),
                section47s: Vec::new(),
                protection_plans: Vec::new(),
            };
            let mut ep_at = EpisodeAt {
                at: e.at(),
                assessments: Vec::new(),
                plans: Vec::new(),
                section47s: Vec::new(),
                protection_plans: Vec::new(),
            };
            for (k, a) in children_of(cin, "Assessments").enumerate() {
                let apath = format!("{path}/Assessments[{}]", k + 1);
                let mut af = e.within(a, apath.clone());
                let start = af.required("AssessmentActualStartDate", date_value);
                let internal_review = af.date("AssessmentInternalReviewDate");
                let authorised = af.date("AssessmentAuthorisationDate");
                let factors = match child_of(a, "FactorsIdentifiedAtAssessment") {
                    Some(list) => af
                        .within(list, format!("{apath}/FactorsIdentifiedAtAssessment"))
                        .codes::<AssessmentFactor>(list, "AssessmentFactors"),
                    None => Vec::new(),
                };
                if let Some(start) = start {
                    episode.assessments.push(super::Assessment {
                        start,
                        internal_review,
                        authorised,
                        factors,
                    });
                    ep_at.assessments.push(af.at());
                }
            }
            for (k, p) in children_of(cin, "CINPlanDates").enumerate() {
                let ppath = format!("{path}/CINPlanDates[{}]", k + 1);
                let mut pf = e.within(p, ppath.clone());
                let start = pf.required("CINPlanStartDate", date_value);
                let end = pf.date("CINPlanEndDate");
                if let Some(start) = start {
                    episode.plans.push((start, end));
                    ep_at.plans.push(pf.at());
                }
            }
            for (k, s) in children_of(cin, "Section47").enumerate() {
                let spath = format!("{path}/Section47[{}]", k + 1);
                let mut sf = e.within(s, spath.clone());
                let start = sf.required("S47ActualStartDate", date_value);
                let target = sf.date("InitialCPCtarget");
                let conference = sf.date("DateOfInitialCPC");
                let not_required = sf.flag("ICPCnotRequired").unwrap_or(false);
                if let Some(start) = start {
                    episode.section47s.push(Section47 {
                        start,
                        conference_target: target.unwrap_or(start),
                        initial_conference: conference,
                        conference_not_required: not_required,
                        concluded: not_required || conference.is_some(),
                    });
                    ep_at.section47s.push(sf.at());
                }
            }
            for (k, p) in children_of(cin, "ChildProtectionPlans").enumerate() {
                let ppath = format!("{path}/ChildProtectionPlans[{}]", k + 1);
                let mut pf = e.within(p, ppath.clone());
                let start = pf.required("CPPstartDate", date_value);
                let end = pf.date("CPPendDate");
                let initial = pf.required("InitialCategoryOfAbuse", code_value::<AbuseCategory>);
                let latest = pf.code::<AbuseCategory>("LatestCategoryOfAbuse");
                let previous = pf
                    .parsed("NumberOfPreviousCPP", |t| {
                        t.parse::<usize>()
                            .map_err(|_| format!("must be a whole number (got {t:?})"))
                    })
                    .unwrap_or(0);
                let mut reviews = Vec::new();
                for (r, review) in children_of(p, "Reviews").enumerate() {
                    let mut rf = pf.within(review, format!("{ppath}/Reviews[{}]", r + 1));
                    if let Some(d) = rf.date("CPPreviewDate") {
                        reviews.push(d);
                    }
                }
                reviews.sort();
                reviews.dedup();
                if let (Some(start), Some(initial)) = (start, initial) {
                    episode.protection_plans.push(ProtectionPlan {
                        start,
                        end,
                        initial_category: initial,
                        latest_category: latest.unwrap_or(initial),
                        previous_plans: previous,
                        reviews,
                    });
                    ep_at.protection_plans.push(pf.at());
                }
            }
            child.episodes.push(episode);
            episodes_at.push(ep_at);
        }
        Some((
            key,
            ReadChild {
                year,
                bad: false,
                at,
                child,
                episodes: episodes_at,
                flags: Vec::new(),
            },
        ))
    }
}

/// A new event, with where in which file it came from.
struct Planned {
    date: Date,
    /// Which episode (by position in the merged history; 0 before any, `usize::MAX` after all), so that on
    /// one day an episode's closure comes before the next one's referral.
    episode: usize,
    /// Order within an episode's day.
    rank: u8,
    seq: usize,
    /// What the fact is about, for its event id (stable across years: dates and kinds, never positions).
    key: String,
    payload: EventPayload,
    at: At,
}

struct Planner<'a> {
    names: &'a [(String, Option<CollectionYear>)],
    child: String,
    planned: Vec<Planned>,
    out: ChildOutcome,
}

impl Planner<'_> {
    fn shown(&self, at: &At) -> String {
        self.names[at.file].0.clone()
    }

    fn conflict(&mut self, at: &At, element: &str, recorded: &str, imported: &str) {
        self.out.conflicts.push(RowProblem {
            file: self.shown(at),
            row: at.line,
            column: format!("{}/{element}", at.path),
            rule: format!("the log holds {recorded:?}, this census says {imported:?}"),
            child: Some(self.child.clone()),
        });
    }

    /// Compares an optional fact: the log's value, the census's, whether the census could know the log's
    /// (it is on or before the reference date). Returns the census's value when it is new to the log.
    fn merge<T: PartialEq + Clone + std::fmt::Debug>(
        &mut self,
        at: &At,
        element: &str,
        log: &Option<T>,
        census: &Option<T>,
        census_could_know: bool,
    ) -> Option<T> {
        match (log, census) {
            (None, Some(c)) => Some(c.clone()),
            (Some(l), Some(c)) if l != c => {
                self.conflict(at, element, &format!("{l:?}"), &format!("{c:?}"));
                None
            }
            (Some(l), None) if census_could_know => {
                self.conflict(at, element, &format!("{l:?}"), "nothing");
                None
            }
            (Some(_), _) => {
                self.out.already += 1;
                None
            }
            (None, None) => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn plan(
        &mut self,
        at: &At,
        date: Date,
        episode: usize,
        rank: u8,
        key: String,
        payload: impl Into<EventPayload>,
    ) {
        let seq = self.planned.len();
        self.planned.push(Planned {
            date,
            episode,
            rank,
            seq,
            key,
            payload: payload.into(),
            at: at.clone(),
        });
    }
}

async fn import_child(
    store: &dyn EventStore,
    options: &ImportOptions,
    names: &[(String, Option<CollectionYear>)],
    key: &str,
    mut reads: Vec<ReadChild>,
) -> Result<ChildOutcome> {
    reads.sort_by_key(|r| r.year);
    let mut pl = Planner {
        names,
        child: key.to_owned(),
        planned: Vec::new(),
        out: ChildOutcome::default(),
    };
    let first_at = reads[0].at.clone();
    if reads.iter().any(|r| r.bad) {
        pl.out.refused = true;
        return Ok(pl.out);
    }
    let Some(child_id) = reads[0].child.child_id.clone() else {
        return Ok(pl.out); // the reader reported it
    };
    let existing = read_all(store, &child_id).await?;
    let version = existing.last().map(|e| e.envelope.version);
    let events_in_force = existing
        .last()
        .map_or_else(Vec::new, |last| recorded(&existing, last.envelope.recorded_at));
    let events_in_force_flags: Vec<(IdentifierKind, String)> = events_in_force
        .iter()
        .filter_map(|(_, _, _, p)| match p {
            EventPayload::InvalidIdentifierRecorded(i) => {
                Some((i.identifier, i.recorded.as_str().to_owned()))
            }
            _ => None,
        })
        .collect();
    let mut history = child_history(Some(child_id.clone()), events_in_force, &[]);
    let mut flagged_in_log: Vec<(IdentifierKind, String)> = events_in_force_flags;
    for read in &reads {
        plan_identity(&mut pl, &mut history, read);
        for flag in &read.flags {
            pl.out.flagged.push(RowProblem {
                file: names[read.at.file].0.clone(),
                row: flag.line,
                column: flag.path.clone(),
                rule: format!("kept as recorded, not used: {}", flag.rule),
                child: Some(key.to_owned()),
            });
            let event = flagged_identifier(flag.identifier, &flag.recorded, &flag.rule);
            let recorded = event.recorded.as_str().to_owned();
            if flagged_in_log.contains(&(flag.identifier, recorded.clone())) {
                pl.out.already += 1;
                continue;
            }
            flagged_in_log.push((flag.identifier, recorded.clone()));
            // Held from the date the census first gives: the birth (or the first referral for an unborn
            // child), else the start of its year.
            let on = read
                .child
                .date_of_birth
                .or_else(|| read.child.episodes.iter().map(|e| e.referral).min())
                .unwrap_or(read.year.start_date());
            let at = At {
                line: flag.line,
                path: flag.path.clone(),
                ..read.at.clone()
            };
            pl.plan(
                &at,
                on,
                0,
                1,
                format!("flag:{}:{recorded}", flag.identifier.code()),
                event,
            );
        }
        for (census, at) in read.child.episodes.iter().zip(&read.episodes) {
            plan_episode(&mut pl, &mut history, census, at, read.year);
        }
    }
    // NumberOfPreviousCPP against the merged history.
    let starts: Vec<Date> = history
        .episodes
        .iter()
        .flat_map(|e| e.protection_plans.iter().map(|p| p.start))
        .collect();
    for read in &reads {
        for (census, at) in read.child.episodes.iter().zip(&read.episodes) {
            for (plan, pat) in census.protection_plans.iter().zip(&at.protection_plans) {
                let known = starts.iter().filter(|s| **s < plan.start).count();
                let problem = RowProblem {
                    file: pl.shown(pat),
                    row: pat.line,
                    column: format!("{}/NumberOfPreviousCPP", pat.path),
                    rule: format!(
                        "the census counts {} earlier plans, the log holds {known}",
                        plan.previous_plans
                    ),
                    child: Some(key.to_owned()),
                };
                if plan.previous_plans > known {
                    pl.out.unrecorded.push(RowProblem {
                        rule: format!(
                            "{} (plans before the imported years are not in the log)",
                            problem.rule
                        ),
                        ..problem
                    });
                } else if plan.previous_plans < known {
                    pl.out.conflicts.push(problem);
                }
            }
        }
    }
    if !pl.out.problems.is_empty() || !pl.out.conflicts.is_empty() || pl.planned.is_empty() {
        // (Flagged identifiers alone are planned events: an empty plan means nothing new.)
        return Ok(pl.out);
    }
    let mut planned = std::mem::take(&mut pl.planned);
    planned.sort_by_key(|p| (p.date, p.episode, p.rank, p.seq));
    let source = Source {
        agency: options.agency.clone(),
        system: SystemId::parse("cin-import").expect("a valid system id"),
    };
    let events: Vec<NewEvent> = planned
        .iter()
        .map(|p| {
            let (name, year) = &names[p.at.file];
            let year = year.map_or_else(String::new, |y| y.to_string().replace('/', "-"));
            imported_event(
                options,
                &source,
                fact_event_id("cin", &child_id, p.date, &p.key, &p.payload),
                p.date,
                format!("cin:{year}:{}:{}", sanitise(name), p.at.line),
                p.payload.clone(),
            )
        })
        .collect();
    match append_child(store, child_id, version, &options.principal, events).await? {
        ChildAppend::Appended(n) => pl.out.appended = n,
        ChildAppend::Refused(problems) => {
            // The domain refused the child's events: each rule against the element it came from.
            for (i, fe) in problems {
                let p = i.and_then(|i| planned.get(i));
                let at = p.map_or(&first_at, |p| &p.at);
                pl.out.refused_by_rules.push(RowProblem {
                    file: names[at.file].0.clone(),
                    row: at.line,
                    column: at.path.clone(),
                    rule: format!(
                        "{}: {} {}",
                        p.map_or("", |p| p.payload.kind().as_str()),
                        fe.field,
                        fe.message
                    ),
                    child: Some(key.to_owned()),
                });
            }
        }
        ChildAppend::StreamChanged(why) => pl.out.conflicts.push(RowProblem {
            file: names[first_at.file].0.clone(),
            row: first_at.line,
            column: first_at.path.clone(),
            rule: why,
            child: Some(key.to_owned()),
        }),
    }
    Ok(pl.out)
}

fn plan_identity(pl: &mut Planner<'_>, history: &mut CinChild, read: &ReadChild) {
    let c = &read.child;
    let at = &read.at;
    // Every registration has a sex (the log's, or one planned from an earlier census in this import).
    let registered = history.sex.is_some();
    if !registered {
        let Some(sex) = c.sex else { return };
        // Registered on the date of birth (who the child is holds on every date), or for an unborn child on
        // the first referral.
        let first_referral = c.episodes.iter().map(|e| e.referral).min();
        let Some(on) = c.date_of_birth.or(first_referral) else {
            return;
        };
        let on = first_referral.map_or(on, |r| on.min(r));
        let registration = ChildRegistered {
            given_name: None,
            family_name: None,
            preferred_name: None,
            date_of_birth: c.date_of_birth,
            expected_date_of_birth: c
                .date_of_birth
                .is_none()
                .then_some(c.expected_date_of_birth)
                .flatten(),
            sex,
            ethnicity: c.ethnicity,
            upn: c.upn.clone(),
            former_upn: c.former_upn.clone(),
            upn_unknown_reason: c.upn.is_none().then_some(c.upn_unknown).flatten(),
            nhs_number: None,
            disabilities: c.disabilities.clone(),
            family_id: None,
        };
        history.register(registration.clone());
        pl.plan(at, on, 0, 0, "registration".into(), registration);
    } else {
        let ids = At {
            path: format!("{}/ChildIdentifiers", at.path),
            ..at.clone()
        };
        let chars = At {
            path: format!("{}/ChildCharacteristics", at.path),
            ..at.clone()
        };
        let sex = c.sex.filter(|s| *s != Sex::U);
        let log_sex = history.sex.filter(|s| *s != Sex::U);
        let log_disabilities = (!history.disabilities.is_empty()).then(|| sorted(&history.disabilities));
        let disabilities = (!c.disabilities.is_empty()).then(|| sorted(&c.disabilities));
        let amended = ChildDetailsAmended {
            date_of_birth: pl.merge(
                &ids,
                "PersonBirthDate",
                &history.date_of_birth,
                &c.date_of_birth,
                // An earlier census may know the child only as unborn.
                c.expected_date_of_birth.is_none(),
            ),
            sex: pl.merge(&ids, "Sex", &log_sex, &sex, false),
            ethnicity: pl.merge(&chars, "Ethnicity", &history.ethnicity, &c.ethnicity, false),
            upn: pl.merge(&ids, "UPN", &history.upn, &c.upn, false),
            former_upn: pl.merge(&ids, "FormerUPN", &history.former_upn, &c.former_upn, false),
            disabilities: pl.merge(&chars, "Disabilities", &log_disabilities, &disabilities, false),
            ..ChildDetailsAmended::default()
        };
        if amended != ChildDetailsAmended::default() {
            // A birth is amended on the day of birth; anything else from the start of the year whose census
            // first says it.
            let on = amended.date_of_birth.unwrap_or(read.year.start_date());
            history.amend(amended.clone());
            pl.plan(&ids, on, 0, 1, format!("amended:{}", read.year), amended);
        }
    }
    let ids = At {
        path: format!("{}/ChildIdentifiers", at.path),
        ..at.clone()
    };
    if let Some(died) = pl.merge(&ids, "PersonDeathDate", &history.died, &c.died, false) {
        history.died = Some(died);
        pl.plan(&ids, died, usize::MAX, 0, "died".into(), ChildDied {});
    }
}

fn sorted(d: &[Disability]) -> Vec<Disability> {
    let set: BTreeSet<&str> = d.iter().map(|d| d.code()).collect();
    set.into_iter()
        .filter_map(|c| Disability::parse(c).ok())
        .collect()
}

// Order within an episode's day.
const REFERRAL: u8 = 10;
const S47_STARTED: u8 = 20;
const S47_CONCLUDED: u8 = 21;
const ASSESSMENT_STARTED: u8 = 30;
const ASSESSMENT_REVIEWED: u8 = 31;
const ASSESSMENT_COMPLETED: u8 = 32;
const CIN_PLAN_STARTED: u8 = 40;
const INITIAL_CONFERENCE: u8 = 50;
const CP_PLAN_STARTED: u8 = 51;
const REVIEW_CONFERENCE: u8 = 55;
const CATEGORY_CHANGED: u8 = 56;
const CIN_PLAN_ENDED: u8 = 80;
const CP_PLAN_ENDED: u8 = 85;
const CLOSED: u8 = 90;

fn plan_episode(
    pl: &mut Planner<'_>,
    history: &mut CinChild,
    census: &CinEpisode,
    at: &EpisodeAt,
    year: CollectionYear,
) {
    let end = year.end_date();
    let could_know = |d: Option<Date>| d.is_some_and(|d| d <= end);
    let eat = at.at.clone();
    let index = match history
        .episodes
        .iter()
        .position(|e| e.referral == census.referral)
    {
        Some(i) => i,
        None => {
            let referral = ReferralReceived {
                source: census.source,
                primary_need: census.primary_need,
                no_further_action: census.referral_nfa,
                contact_event_id: None,
                referrer: None,
            };
            history
                .episodes
                .push(CinEpisode::opened(census.referral, &referral));
            history.episodes.sort_by_key(|e| e.referral);
            let i = history
                .episodes
                .iter()
                .position(|e| e.referral == census.referral)
                .expect("just added");
            pl.plan(
                &eat,
                census.referral,
                i + 1,
                REFERRAL,
                format!("referral:{}", census.referral),
                referral,
            );
            i
        }
    };
    // Episode positions among the planned events: 1-based in the merged history.
    let ep = index + 1;
    let episode_key = format!("episode:{}", census.referral);
    {
        let h = &history.episodes[index];
        if h.source != census.source {
            pl.conflict(&eat, "ReferralSource", h.source.code(), census.source.code());
        }
        if h.primary_need != census.primary_need {
            pl.conflict(
                &eat,
                "PrimaryNeedCode",
                h.primary_need.code(),
                census.primary_need.code(),
            );
        }
        if h.referral_nfa != census.referral_nfa {
            pl.conflict(
                &eat,
                "ReferralNFA",
                &h.referral_nfa.to_string(),
                &census.referral_nfa.to_string(),
            );
        }
    }

    for (a, aat) in census.assessments.iter().zip(&at.assessments) {
        let key = format!("{episode_key}:assessment:{}", a.start);
        let h = &mut history.episodes[index];
        let found = h.assessments.iter().position(|x| x.start == a.start);
        let (log_review, log_authorised, log_factors) = match found {
            Some(i) => (
                h.assessments[i].internal_review,
                h.assessments[i].authorised,
                h.assessments[i].factors.clone(),
            ),
            None => {
                h.assessments.push(super::Assessment {
                    start: a.start,
                    internal_review: None,
                    authorised: None,
                    factors: Vec::new(),
                });
                pl.plan(
                    aat,
                    a.start,
                    ep,
                    ASSESSMENT_STARTED,
                    key.clone(),
                    AssessmentStarted {},
                );
                (None, None, Vec::new())
            }
        };
        if let Some(d) = pl.merge(
            aat,
            "AssessmentInternalReviewDate",
            &log_review,
            &a.internal_review,
            could_know(log_review),
        ) {
            pl.plan(
                aat,
                d,
                ep,
                ASSESSMENT_REVIEWED,
                key.clone(),
                AssessmentReviewed {},
            );
        }
        let authorised = pl.merge(
            aat,
            "AssessmentAuthorisationDate",
            &log_authorised,
            &a.authorised,
            could_know(log_authorised),
        );
        if log_authorised.is_some()
            && log_authorised == a.authorised
            && sorted_factors(&log_factors) != sorted_factors(&a.factors)
        {
            pl.conflict(
                aat,
                "FactorsIdentifiedAtAssessment",
                &codes(&log_factors),
                &codes(&a.factors),
            );
        }
        if let Some(d) = authorised {
            pl.plan(
                aat,
                d,
                ep,
                ASSESSMENT_COMPLETED,
                key.clone(),
                AssessmentCompleted {
                    factors: a.factors.clone(),
                    authorised_on: Some(d),
                    child_seen: None,
                    requires_social_care_support: None,
                    primary_need: None,
                },
            );
        }
        let h = &mut history.episodes[index];
        if let Some(x) = h.assessments.iter_mut().find(|x| x.start == a.start) {
            x.internal_review = x.internal_review.or(a.internal_review);
            if x.authorised.is_none() && a.authorised.is_some() {
                x.authorised = a.authorised;
                x.factors = a.factors.clone();
            }
        }
    }

    for ((start, to), pat) in census.plans.iter().zip(&at.plans) {
        let key = format!("{episode_key}:cin-plan:{start}");
        let h = &mut history.episodes[index];
        let log_end = match h.plans.iter().position(|p| p.0 == *start) {
            Some(i) => h.plans[i].1,
            None => {
                h.plans.push((*start, None));
                pl.plan(
                    pat,
                    *start,
                    ep,
                    CIN_PLAN_STARTED,
                    key.clone(),
                    ChildInNeedPlanStarted {},
                );
                None
            }
        };
        if let Some(d) = pl.merge(pat, "CINPlanEndDate", &log_end, to, could_know(log_end)) {
            pl.plan(
                pat,
                d,
                ep,
                CIN_PLAN_ENDED,
                key.clone(),
                ChildInNeedPlanEnded { reason: None },
            );
            if let Some(p) = history.episodes[index].plans.iter_mut().find(|p| p.0 == *start) {
                p.1 = Some(d);
            }
        }
    }

    for (s, sat) in census.section47s.iter().zip(&at.section47s) {
        let key = format!("{episode_key}:s47:{}", s.start);
        let h = &mut history.episodes[index];
        let log = match h.section47s.iter().position(|x| x.start == s.start) {
            Some(i) => h.section47s[i].clone(),
            None => {
                pl.plan(
                    sat,
                    s.start,
                    ep,
                    S47_STARTED,
                    key.clone(),
                    Section47Started {
                        strategy_discussion_event_id: None,
                    },
                );
                let fresh = Section47 {
                    start: s.start,
                    conference_target: s.conference_target,
                    initial_conference: None,
                    conference_not_required: false,
                    concluded: false,
                };
                h.section47s.push(fresh.clone());
                fresh
            }
        };
        let conference = pl.merge(
            sat,
            "DateOfInitialCPC",
            &log.initial_conference,
            &s.initial_conference,
            could_know(log.initial_conference),
        );
        if log.conference_not_required && !s.conference_not_required {
            pl.conflict(sat, "ICPCnotRequired", "true", "false");
        }
        if !log.concluded && (s.conference_not_required || s.initial_conference.is_some()) {
            let outcome = if s.conference_not_required {
                Section47Outcome::NotSubstantiated
            } else {
                Section47Outcome::ConferenceRequired
            };
            pl.plan(
                sat,
                s.start,
                ep,
                S47_CONCLUDED,
                key.clone(),
                Section47Completed { outcome },
            );
        } else if log.concluded && log.conference_not_required == s.conference_not_required {
            pl.out.already += 1;
        }
        if let Some(d) = conference {
            plan_initial_conference(pl, census, sat, d, ep);
        }
        if let Some(x) = history.episodes[index]
            .section47s
            .iter_mut()
            .find(|x| x.start == s.start)
        {
            x.initial_conference = x.initial_conference.or(s.initial_conference);
            x.conference_not_required |= s.conference_not_required;
            x.concluded |= s.conference_not_required || s.initial_conference.is_some();
        }
    }
    // An initial conference that followed no enquiry (a transfer-in, say) is the episode's.
    let log_conference = history.episodes[index].initial_conference;
    if let Some(d) = pl.merge(
        &eat,
        "DateOfInitialCPC",
        &log_conference,
        &census.initial_conference,
        could_know(log_conference),
    ) {
        history.episodes[index].initial_conference = Some(d);
        plan_initial_conference(pl, census, &eat, d, ep);
    }

    for (p, pat) in census.protection_plans.iter().zip(&at.protection_plans) {
        let key = format!("{episode_key}:cp-plan:{}", p.start);
        let h = &mut history.episodes[index];
        let log = match h.protection_plans.iter().position(|x| x.start == p.start) {
            Some(i) => h.protection_plans[i].clone(),
            None => {
                let conference = (census.initial_conference == Some(p.start)
                    || census
                        .section47s
                        .iter()
                        .any(|s| s.initial_conference == Some(p.start)))
                .then(|| conference_id(&pl.child, p.start, p.initial_category));
                pl.plan(
                    pat,
                    p.start,
                    ep,
                    CP_PLAN_STARTED,
                    key.clone(),
                    ChildProtectionPlanStarted {
                        category: p.initial_category,
                        conference_event_id: conference.flatten(),
                    },
                );
                let fresh = ProtectionPlan {
                    start: p.start,
                    end: None,
                    initial_category: p.initial_category,
                    latest_category: p.initial_category,
                    previous_plans: 0,
                    reviews: Vec::new(),
                };
                h.protection_plans.push(fresh.clone());
                fresh
            }
        };
        if log.initial_category != p.initial_category {
            pl.conflict(
                pat,
                "InitialCategoryOfAbuse",
                log.initial_category.code(),
                p.initial_category.code(),
            );
            continue;
        }
        let new_reviews: Vec<Date> = p
            .reviews
            .iter()
            .copied()
            .filter(|r| !log.reviews.contains(r))
            .collect();
        pl.out.already += p.reviews.len() - new_reviews.len();
        let ending = pl.merge(pat, "CPPendDate", &log.end, &p.end, could_know(log.end));
        for r in &new_reviews {
            let outcome = if p.end == Some(*r) {
                ConferenceOutcome::PlanNotRequired
            } else {
                ConferenceOutcome::PlanRequired
            };
            pl.plan(
                pat,
                *r,
                ep,
                REVIEW_CONFERENCE,
                format!("{key}:review:{r}"),
                ChildProtectionConferenceHeld {
                    kind: ConferenceKind::Review,
                    outcome,
                    category: None,
                    agencies: Vec::new(),
                    family: Vec::new(),
                    chair: None,
                    quorate: None,
                },
            );
        }
        if p.latest_category != log.latest_category {
            let on = p
                .reviews
                .iter()
                .copied()
                .filter(|r| p.end.is_none_or(|e| *r < e))
                .max()
                .unwrap_or(p.start)
                .max(log.reviews.iter().copied().max().unwrap_or(p.start));
            pl.plan(
                pat,
                on,
                ep,
                CATEGORY_CHANGED,
                format!("{key}:category:{}", p.latest_category.code()),
                ChildProtectionCategoryChanged {
                    category: p.latest_category,
                },
            );
        }
        if let Some(d) = ending {
            pl.plan(
                pat,
                d,
                ep,
                CP_PLAN_ENDED,
                key.clone(),
                ChildProtectionPlanEnded {
                    reason: CpPlanEndReason::Other,
                    detail: Some(
                        LongText::parse("ended (the CIN census gives no reason)").expect("valid text"),
                    ),
                },
            );
        }
        if let Some(x) = history.episodes[index]
            .protection_plans
            .iter_mut()
            .find(|x| x.start == p.start)
        {
            x.reviews.extend(new_reviews);
            x.reviews.sort();
            x.latest_category = p.latest_category;
            x.end = x.end.or(p.end);
        }
    }

    let log_closure = history.episodes[index].closure;
    if let Some((d, reason)) = pl.merge(
        &eat,
        "CINclosureDate",
        &log_closure,
        &census.closure,
        could_know(log_closure.map(|c| c.0)),
    ) {
        history.episodes[index].closure = Some((d, reason));
        pl.plan(
            &eat,
            d,
            ep,
            CLOSED,
            format!("{episode_key}:closed"),
            ChildInNeedEpisodeClosed { reason, detail: None },
        );
    }
}

/// The initial conference held on `on` (deciding on a plan in `category`, if it did), with what its event
/// id is keyed on.
fn initial_conference(on: Date, category: Option<AbuseCategory>) -> (String, EventPayload) {
    let conference = ChildProtectionConferenceHeld {
        kind: ConferenceKind::Initial,
        outcome: if category.is_some() {
            ConferenceOutcome::PlanRequired
        } else {
            ConferenceOutcome::PlanNotRequired
        },
        category,
        agencies: Vec::new(),
        family: Vec::new(),
        chair: None,
        quorate: None,
    };
    (format!("initial-conference:{on}"), conference.into())
}

/// The id the initial conference on `on` gets (so a plan started at it can name it).
fn conference_id(child: &str, on: Date, category: AbuseCategory) -> Option<EventId> {
    let child = ChildId::parse(child).ok()?;
    let (about, payload) = initial_conference(on, Some(category));
    Some(fact_event_id("cin", &child, on, &about, &payload))
}

fn plan_initial_conference(pl: &mut Planner<'_>, census: &CinEpisode, at: &At, on: Date, ep: usize) {
    let plan = census
        .protection_plans
        .iter()
        .find(|p| p.start == on)
        .map(|p| p.initial_category);
    let (about, payload) = initial_conference(on, plan);
    pl.plan(at, on, ep, INITIAL_CONFERENCE, about, payload);
}

fn sorted_factors(f: &[AssessmentFactor]) -> BTreeSet<&'static str> {
    f.iter().map(|f| f.code()).collect()
}

fn codes(f: &[AssessmentFactor]) -> String {
    sorted_factors(f).into_iter().collect::<Vec<_>>().join(",")
}

/// Where each line after the first starts: one past each `\n`.
fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}
