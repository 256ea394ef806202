//! The timeliness measures children's services are judged on, from the log and the statutory-timescales
//! policy: per month and per team, how many statutory deadlines were met, missed or not yet due; re-referrals
//! within 12 months; how late each agency records each kind of event; and the adoption scorecard's A1, A2 and
//! A10 against the thresholds.
//!
//! Whether a deadline was met is the policy's judgement (`statutory-timescales`, a WebAssembly policy that
//! `journey-core` knows nothing of): the caller evaluates it for every child and hands in its deadlines as
//! [`TimescaleOutcome`]s, so the measures and the investigator's timeline can never disagree about a
//! deadline. Everything else is read here from each child's stream as known at `known_at` (corrections
//! applied, retractions dropped).
//!
//! * **Month** is the month of the due date (timeliness) or of the referral (re-referrals), within
//!   `from..=to`.
//! * **Team** is the team of the social worker allocated to the child on that day (`WorkerAllocated` in the
//!   social-worker role, until another allocation or `WorkerAllocationEnded`); "Unallocated" when there is
//!   none, "No team recorded" when the allocation names none.
//! * **On time** is the policy's `met`, **late** its `missed` (done after the due date, or not done and
//!   overdue), **not yet due** its `open`; not-applicable deadlines are not counted. The percentage is on time
//!   over on time plus late.
//! * **Recording lag** is the chronology's (`view::chronology`): days from the day an event happened to the
//!   day it was recorded (the source system's recording time for imported history), and "late" is the
//!   chronology's `recorded_late`; for records made in `from..=to`. Identity records (they date the birth,
//!   not the work) and corrections are left out.
//! * **Adoption** (the scorecard's 3-year averages, `../shared/domain/rules.md` §3): children adopted (an
//!   episode ended E11 or E12) in the three years to `to`. A1: days from entering care (the start of the
//!   period of care that ended in adoption) to moving in with the adoptive family (`PlacedForAdoption`). A10:
//!   as A1, but for adoptions by the child's foster carers (`adopters_were_foster_carers` on the match) the
//!   clock stops when the child moved in with them, taken as the start of the placement in force on the
//!   match date. A2: days from the placement order to the match, zero when the match came first.
//!   Thresholds by the period's last year: 639/213 days to 2012, 608/182 in 2013, 547/182 in 2014, 487/152
//!   in 2015, 426/121 from 2016; A10 is compared with A1's threshold (the DfE publishes none of its own).

use std::collections::BTreeMap;

use serde::Serialize;

use journey_core::domain::lists::{CourtOrderKind, WorkerRole};
use journey_core::domain::{EventPayload, Stage};
use journey_core::envelope::RecordedEvent;
use journey_core::ids::ChildId;
use journey_core::time::{Date, Timestamp};
use journey_core::view::{AsOf, Chronology, ChronologyOptions, EffectiveEvent, known_at};

/// What the statutory-timescales policy said of one deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimescaleStatus {
    Met,
    Missed,
    Open,
    NotApplicable,
}

/// One deadline as the statutory-timescales policy judged it for one child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimescaleOutcome {
    pub child_id: ChildId,
    /// The policy's stable code, e.g. `assessment`.
    pub name: String,
    pub starts_on: Option<Date>,
    pub due_on: Option<Date>,
    pub status: TimescaleStatus,
    pub completed_on: Option<Date>,
}

/// The period measured and the instant of knowledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeasuresOptions {
    pub from: Date,
    pub to: Date,
    pub known_at: Timestamp,
}

/// Deadlines of one measure, one month, one team.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelinessRow {
    /// `2024-05`.
    pub month: String,
    pub team: String,
    /// The policy's code (`assessment`).
    pub measure: String,
    /// What it measures, in words.
    pub label: String,
    pub on_time: usize,
    pub late: usize,
    pub not_yet_due: usize,
    pub total: usize,
    /// On time over on time plus late, as a percentage (none when nothing was due).
    pub percent_on_time: Option<f64>,
}

/// Referrals of one month and team, and how many came within 12 months of the child's previous referral.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReReferralRow {
    pub month: String,
    pub team: String,
    pub referrals: usize,
    pub within_12_months: usize,
    pub percent: Option<f64>,
}

/// How late one kind of event, or one agency, records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagRow {
    /// `event-type` or `agency`.
    pub by: String,
    /// The event type (`referral_received`) or the agency.
    pub key: String,
    pub records: usize,
    pub median_days: f64,
    pub p90_days: f64,
    /// Recorded late, as the chronology judges it.
    pub late: usize,
}

/// One scorecard measure: the average over the children it counts, and the threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScorecardMeasure {
    pub children: usize,
    pub average_days: Option<f64>,
    pub threshold_days: u32,
    /// Average at or under the threshold (none when no child counts).
    pub met: Option<bool>,
}

/// The adoption scorecard's 3-year averages to `to`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdoptionScorecard {
    pub from: Date,
    pub to: Date,
    pub adopted: usize,
    pub a1: ScorecardMeasure,
    pub a2: ScorecardMeasure,
    pub a10: ScorecardMeasure,
}

/// Every measure for the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeasuresReport {
    pub from: Date,
    pub to: Date,
    pub known_at: Timestamp,
    /// Children whose records were read.
    pub children: usize,
    pub timeliness: Vec<TimelinessRow>,
    pub re_referrals: Vec<ReReferralRow>,
    pub recording_lag: Vec<LagRow>,
    pub adoption: AdoptionScorecard,
}

/// The sections of the report, one CSV table each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Timeliness,
    ReReferrals,
    RecordingLag,
    Adoption,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Timeliness,
        Section::ReReferrals,
        Section::RecordingLag,
        Section::Adoption,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Section::Timeliness => "timeliness",
            Section::ReReferrals => "re-referrals",
            Section::RecordingLag => "recording-lag",
            Section::Adoption => "adoption",
        }
    }
}

/// The measures and their words, in the order reports show them; other deadlines of the policy follow,
/// named by their code.
pub const MEASURES: [(&str, &str); 11] = [
    ("contact-decision", "Referral decisions within 1 working day"),
    ("assessment", "Assessments within 45 working days"),
    (
        "initial-child-protection-conference",
        "Initial conferences within 15 working days",
    ),
    ("core-group", "First core groups within 10 working days"),
    ("review-child-protection-conference", "Review conferences on time"),
    ("child-protection-visit", "Child protection visits on time"),
    ("child-in-need-visit", "Child in need visits on time"),
    ("looked-after-review", "Looked-after reviews on time"),
    ("looked-after-visit", "Looked-after visits on time"),
    ("health-assessment", "Health assessments on time"),
    ("return-interview", "Return interviews within 72 hours"),
];

fn label(measure: &str) -> String {
    MEASURES
        .iter()
        .find(|(code, _)| *code == measure)
        .map_or_else(|| measure.to_owned(), |(_, words)| (*words).to_owned())
}

fn order(measure: &str) -> usize {
    MEASURES
        .iter()
        .position(|(code, _)| *code == measure)
        .unwrap_or(MEASURES.len())
}

fn month(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

pub const UNALLOCATED: &str = "Unallocated";
pub const NO_TEAM: &str = "No team recorded";

/// The social worker's team over time: (from, team), in date order.
fn teams(events: &[EffectiveEvent]) -> Vec<(Date, String)> {
    let mut changes: Vec<(Date, u64, String)> = Vec::new();
    for e in events {
        if !e.is_in_use() {
            continue;
        }
        let team = match &e.payload {
            EventPayload::WorkerAllocated(a) if a.role == WorkerRole::SocialWorker => a
                .team
                .as_ref()
                .map_or_else(|| NO_TEAM.to_owned(), |t| t.as_str().to_owned()),
            EventPayload::WorkerAllocationEnded(a) if a.role == WorkerRole::SocialWorker => {
                UNALLOCATED.to_owned()
            }
            _ => continue,
        };
        changes.push((e.occurred_at.date(), e.envelope.version.0, team));
    }
    changes.sort();
    changes.into_iter().map(|(d, _, t)| (d, t)).collect()
}

fn team_on(teams: &[(Date, String)], on: Date) -> String {
    teams
        .iter()
        .rev()
        .find(|(from, _)| *from <= on)
        .map_or_else(|| UNALLOCATED.to_owned(), |(_, t)| t.clone())
}

/// A value at a quantile of sorted values (nearest rank).
fn quantile(sorted: &[i32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1])
}

fn median(sorted: &[i32]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => f64::from(sorted[n / 2]),
        n => (f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0,
    }
}

/// The scorecard thresholds (A1, A2) for a 3-year period ending in `year`.
fn thresholds(year: i16) -> (u32, u32) {
    match year {
        ..=2012 => (639, 213),
        2013 => (608, 182),
        2014 => (547, 182),
        2015 => (487, 152),
        _ => (426, 121),
    }
}

/// One adopted child's scorecard durations.
#[derive(Debug, Default)]
struct Adoption {
    a1: Option<i32>,
    a2: Option<i32>,
    a10: Option<i32>,
}

/// The durations for a child adopted in `from..=to`, if it was.
fn adoption(events: &[EffectiveEvent], from: Date, to: Date) -> Option<Adoption> {
    let live = || events.iter().filter(|e| e.is_in_use());
    let adopted_on = live()
        .filter_map(|e| match &e.payload {
            EventPayload::CeasedToBeLookedAfter(c) if c.reason.is_adoption() => Some(e.occurred_at.date()),
            _ => None,
        })
        .filter(|d| *d >= from && *d <= to)
        .max()?;
    let before = |d: Date| d <= adopted_on;
    // Entering care: the start of the period that ended in adoption. A period the record found in progress
    // (imported mid-period) has no known start: A1 and A10 cannot be counted for the child, A2 still can.
    let (entered, start_known) = live()
        .filter_map(|e| match &e.payload {
            EventPayload::BecameLookedAfter(_) => Some((e.occurred_at.date(), true)),
            EventPayload::CareInProgressRecorded(_) => Some((e.occurred_at.date(), false)),
            _ => None,
        })
        .filter(|(d, _)| before(*d))
        .max()?;
    let placed = live()
        .filter(|e| matches!(e.payload, EventPayload::PlacedForAdoption(_)))
        .map(|e| e.occurred_at.date())
        .filter(|d| *d >= entered && before(*d))
        .max();
    let matched = live()
        .filter_map(|e| match &e.payload {
            EventPayload::MatchedWithAdopters(m) => {
                Some((e.occurred_at.date(), m.adopters_were_foster_carers))
            }
            _ => None,
        })
        .filter(|(d, _)| *d >= entered && before(*d))
        .max();
    let order = live()
        .filter_map(|e| match &e.payload {
            EventPayload::CourtOrderMade(o) if o.order == CourtOrderKind::PlacementOrder => {
                Some(e.occurred_at.date())
            }
            _ => None,
        })
        .filter(|d| *d >= entered && before(*d))
        .max();
    let mut out = Adoption {
        a1: placed.filter(|_| start_known).map(|p| entered.days_until(p)),
        ..Adoption::default()
    };
    out.a10 = match matched {
        Some((match_day, true)) => {
            // Adopted by the foster carers: the clock stops when the child moved in with them, the start of
            // the placement in force when the match was made.
            let moved_in = live()
                .filter_map(|e| match &e.payload {
                    EventPayload::BecameLookedAfter(_)
                    | EventPayload::CareInProgressRecorded(_)
                    | EventPayload::PlacementChanged(_) => Some(e.occurred_at.date()),
                    _ => None,
                })
                .filter(|d| *d >= entered && *d <= match_day)
                .max()
                .unwrap_or(entered);
            start_known.then(|| entered.days_until(moved_in))
        }
        _ => out.a1,
    };
    out.a2 = match (order, matched) {
        (Some(order), Some((match_day, _))) => Some(order.days_until(match_day).max(0)),
        _ => None,
    };
    Some(out)
}

fn scorecard(values: &[i32], threshold: u32) -> ScorecardMeasure {
    let average = (!values.is_empty()).then(|| {
        (values.iter().map(|v| f64::from(*v)).sum::<f64>() / values.len() as f64 * 10.0).round() / 10.0
    });
    ScorecardMeasure {
        children: values.len(),
        average_days: average,
        threshold_days: threshold,
        met: average.map(|a| a <= f64::from(threshold)),
    }
}

/// Every measure for `options`, from each child's stream (`streams`: every child, records in version order,
/// as read from the store; those recorded after `known_at` are left out here) and the statutory-timescales
/// policy's deadlines for them.
pub fn measure(
    streams: &BTreeMap<ChildId, Vec<RecordedEvent>>,
    outcomes: &[TimescaleOutcome],
    options: &MeasuresOptions,
) -> MeasuresReport {
    let in_period = |d: Date| d >= options.from && d <= options.to;
    let mut team_lines: BTreeMap<&ChildId, Vec<(Date, String)>> = BTreeMap::new();
    let mut timeliness: BTreeMap<(String, String, usize, String), TimelinessRow> = BTreeMap::new();
    let mut re_referrals: BTreeMap<(String, String), ReReferralRow> = BTreeMap::new();
    let mut lags: BTreeMap<(&'static str, String), (Vec<i32>, usize)> = BTreeMap::new();
    let scorecard_from = options.to.add_years(-3).add_days(1);
    let (mut a1, mut a2, mut a10, mut adopted) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let late_after = ChronologyOptions::default();

    for (child, events) in streams {
        let effective = known_at(events, options.known_at);
        let line = teams(&effective);

        // Re-referrals: every referral in the period, against the child's previous one.
        let mut referrals: Vec<Date> = effective
            .iter()
            .filter(|e| e.is_in_use())
            .filter(|e| matches!(e.payload, EventPayload::ReferralReceived(_)))
            .map(|e| e.occurred_at.date())
            .collect();
        referrals.sort();
        for (i, day) in referrals.iter().enumerate() {
            if !in_period(*day) {
                continue;
            }
            let team = team_on(&line, *day);
            let row = re_referrals
                .entry((month(*day), team.clone()))
                .or_insert_with(|| ReReferralRow {
                    month: month(*day),
                    team,
                    referrals: 0,
                    within_12_months: 0,
                    percent: None,
                });
            row.referrals += 1;
            if i > 0 && referrals[i - 1].add_years(1) >= *day {
                row.within_12_months += 1;
            }
        }

        // Recording lag, as the chronology sees it.
        let chronology = Chronology::build(
            events,
            AsOf::new(options.to, options.known_at),
            ChronologyOptions {
                include_after_on: true,
                ..late_after
            },
        );
        for entry in &chronology.entries {
            let recorded = entry
                .source_recorded_at
                .unwrap_or(entry.recorded_at)
                .england_date();
            // Who the child is dates the birth, not the work; a correction is judged by what it corrects; a
            // restricted event is not used (UK GDPR Art. 18).
            if !in_period(recorded)
                || matches!(entry.stage, Stage::Identity | Stage::Correction)
                || entry.restriction.is_some()
            {
                continue;
            }
            let lag = entry.source_lag_days.unwrap_or(entry.lag_days);
            for key in [
                ("event-type", entry.kind.as_str().to_owned()),
                ("agency", entry.source.agency.to_string()),
            ] {
                let slot = lags.entry(key).or_default();
                slot.0.push(lag);
                slot.1 += usize::from(entry.recorded_late);
            }
        }

        if let Some(a) = adoption(&effective, scorecard_from, options.to) {
            adopted += 1;
            a1.extend(a.a1);
            a2.extend(a.a2);
            a10.extend(a.a10);
        }
        team_lines.insert(child, line);
    }

    for outcome in outcomes {
        let Some(due) = outcome.due_on else { continue };
        if !in_period(due) || outcome.status == TimescaleStatus::NotApplicable {
            continue;
        }
        let team = team_lines
            .get(&outcome.child_id)
            .map_or_else(|| UNALLOCATED.to_owned(), |line| team_on(line, due));
        let key = (
            month(due),
            team.clone(),
            order(&outcome.name),
            outcome.name.clone(),
        );
        let row = timeliness.entry(key).or_insert_with(|| TimelinessRow {
            month: month(due),
            team,
            measure: outcome.name.clone(),
            label: label(&outcome.name),
            on_time: 0,
            late: 0,
            not_yet_due: 0,
            total: 0,
            percent_on_time: None,
        });
        match outcome.status {
            TimescaleStatus::Met => row.on_time += 1,
            TimescaleStatus::Missed => row.late += 1,
            TimescaleStatus::Open => row.not_yet_due += 1,
            TimescaleStatus::NotApplicable => {}
        }
        row.total += 1;
    }

    let (a1_threshold, a2_threshold) = thresholds(options.to.year());
    MeasuresReport {
        from: options.from,
        to: options.to,
        known_at: options.known_at,
        children: streams.len(),
        timeliness: timeliness
            .into_values()
            .map(|mut row| {
                row.percent_on_time = percent(row.on_time, row.on_time + row.late);
                row
            })
            .collect(),
        re_referrals: re_referrals
            .into_values()
            .map(|mut row| {
                row.percent = percent(row.within_12_months, row.referrals);
                row
            })
            .collect(),
        recording_lag: lags
            .into_iter()
            .map(|((by, key), (mut days, late))| {
                days.sort_unstable();
                LagRow {
                    by: by.to_owned(),
                    key,
                    records: days.len(),
                    median_days: median(&days),
                    p90_days: quantile(&days, 0.9),
                    late,
                }
            })
            .collect(),
        adoption: AdoptionScorecard {
            from: scorecard_from,
            to: options.to,
            adopted,
            a1: scorecard(&a1, a1_threshold),
            a2: scorecard(&a2, a2_threshold),
            a10: scorecard(&a10, a1_threshold),
        },
    }
}

impl MeasuresReport {
    /// One section as CSV, headings first.
    pub fn csv(&self, section: Section) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        let rows: Vec<Vec<String>> = match section {
            Section::Timeliness => std::iter::once(
                [
                    "month",
                    "team",
                    "measure",
                    "label",
                    "on_time",
                    "late",
                    "not_yet_due",
                    "total",
                    "percent_on_time",
                ]
                .map(String::from)
                .to_vec(),
            )
            .chain(self.timeliness.iter().map(|r| {
                vec![
                    r.month.clone(),
                    r.team.clone(),
                    r.measure.clone(),
                    r.label.clone(),
                    r.on_time.to_string(),
                    r.late.to_string(),
                    r.not_yet_due.to_string(),
                    r.total.to_string(),
                    opt(r.percent_on_time),
                ]
            }))
            .collect(),
            Section::ReReferrals => std::iter::once(
                ["month", "team", "referrals", "within_12_months", "percent"]
                    .map(String::from)
                    .to_vec(),
            )
            .chain(self.re_referrals.iter().map(|r| {
                vec![
                    r.month.clone(),
                    r.team.clone(),
                    r.referrals.to_string(),
                    r.within_12_months.to_string(),
                    opt(r.percent),
                ]
            }))
            .collect(),
            Section::RecordingLag => std::iter::once(
                ["by", "key", "records", "median_days", "p90_days", "late"]
                    .map(String::from)
                    .to_vec(),
            )
            .chain(self.recording_lag.iter().map(|r| {
                vec![
                    r.by.clone(),
                    r.key.clone(),
                    r.records.to_string(),
                    r.median_days.to_string(),
                    r.p90_days.to_string(),
                    r.late.to_string(),
                ]
            }))
            .collect(),
            Section::Adoption => {
                let a = &self.adoption;
                let row = |name: &str, m: &ScorecardMeasure| {
                    vec![
                        name.to_owned(),
                        a.from.to_string(),
                        a.to.to_string(),
                        m.children.to_string(),
                        opt(m.average_days),
                        m.threshold_days.to_string(),
                        m.met
                            .map_or_else(String::new, |met| if met { "Y" } else { "N" }.to_owned()),
                    ]
                };
                vec![
                    [
                        "measure",
                        "from",
                        "to",
                        "children",
                        "average_days",
                        "threshold_days",
                        "met",
                    ]
                    .map(String::from)
                    .to_vec(),
                    row("A1", &a.a1),
                    row("A2", &a.a2),
                    row("A10", &a.a10),
                ]
            }
        };
        for row in rows {
            // Writing to memory cannot fail.
            let _ = w.write_record(&row);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
