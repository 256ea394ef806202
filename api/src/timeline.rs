//! The investigator's timeline page: one child's journey as server-rendered HTML and SVG (no script, no build
//! step), on both time axes.
//!
//! * One lane per stage of the journey; each event is a mark at the date it occurred. A record made late is
//!   marked, with a dashed tail running to the date it was recorded. Corrected events are ringed, retracted
//!   ones hollow and struck through; the correction and retraction records have a lane of their own.
//! * A lane of statutory deadlines from the statutory-timescales policy in force: met, missed (with a bar from
//!   the due date to the date it was done, or to the date judged) and open.
//! * A form moves the "known at" instant (any instant, or one of the instants at which something was
//!   recorded) and the date judged, and the page shows what the record said then.
//! * A link to the child's verifiable export, and what proves each record shown: the checkpoint its
//!   inclusion proof leads to and the witnesses who cosigned it, or that it is not yet in one (ADR 10).
//!
//! Rendering is a pure function of [`TimelinePage`] (tests check the markup without a server); the handler in
//! `routes` gathers the data, checks the key and writes the access log before rendering.

use journey_core::domain::Stage;
use journey_core::proof::Provenance;
use journey_core::view::{ChildSummary, Chronology, ChronologyEntry, EventStatus};
use journey_core::{Date, Timestamp};
use journey_plugins::{Deadline, DeadlineStatus};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Everything the page shows.
#[derive(Debug)]
pub struct TimelinePage<'a> {
    pub chronology: &'a Chronology<'a>,
    pub summary: &'a ChildSummary,
    /// The deadlines on the date judged, and which policy version computed them; or why there are none.
    pub deadlines: Result<(String, Vec<Deadline>), String>,
    /// The instants at which something was recorded for this child, ascending: the known-at choices.
    pub recorded_instants: Vec<Timestamp>,
    /// The stated purpose of this read, carried into every link so the investigator's next view keeps it.
    pub purpose: &'a str,
    /// The path of this page (`/v1/children/{id}/timeline`) and of the export.
    pub page_path: String,
    pub export_path: String,
    /// Which checkpoint, and which witnesses, each record shown is proven against (ADR 10); `None` on a
    /// server that keeps no tree.
    pub proof: Option<ProofView>,
}

/// What proves the records shown: the records grouped by the checkpoint each is proven against (the one
/// its inclusion proof in the child's export leads to).
#[derive(Debug)]
pub struct ProofView {
    /// The log's origin.
    pub origin: String,
    /// Smallest positions first; the records not yet in a signed checkpoint, if any, last.
    pub groups: Vec<ProvenRecords>,
}

/// Records shown that one checkpoint proves (or that none does yet).
#[derive(Debug)]
pub struct ProvenRecords {
    /// The checkpoint and its witnesses; `None`: not yet in a signed checkpoint.
    pub checkpoint: Option<Provenance>,
    /// The records' positions in the log, ascending.
    pub positions: Vec<u64>,
}

impl ProvenRecords {
    /// The anchor the chronology's rows link to.
    fn anchor(&self) -> String {
        match &self.checkpoint {
            Some(c) => format!("proof-{}", c.size),
            None => "proof-pending".to_owned(),
        }
    }

    /// In words: which records, and what proves them.
    fn in_words(&self, origin: &str) -> String {
        let records = match self.positions.as_slice() {
            [one] => format!("The record shown at log position {one}"),
            [first, .., last] => format!(
                "The {} records shown at log positions {first} to {last}",
                self.positions.len()
            ),
            [] => "No record shown".to_owned(),
        };
        match &self.checkpoint {
            Some(checkpoint) => format!("{records}: {}", checkpoint.in_words()),
            None => format!(
                "{records}: not yet in a signed checkpoint of log {origin}. Until the next checkpoint they \
                 rest on their hash links alone, and no witness has seen them."
            ),
        }
    }

    /// In a few words, beside each record in the chronology.
    fn short_words(&self) -> String {
        match &self.checkpoint {
            None => "not yet in a signed checkpoint".to_owned(),
            Some(c) if c.cosigned.is_empty() => {
                format!("checkpoint at tree size {}, no witness yet", c.size)
            }
            Some(c) => format!(
                "checkpoint at tree size {}, witnessed by {}",
                c.size,
                c.cosigned
                    .iter()
                    .map(|w| w.witness.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The lanes, top to bottom.
const LANES: [Stage; 11] = [
    Stage::Identity,
    Stage::FrontDoor,
    Stage::EarlyHelp,
    Stage::ChildInNeed,
    Stage::ChildProtection,
    Stage::Court,
    Stage::LookedAfter,
    Stage::Permanence,
    Stage::LeavingCare,
    Stage::Casework,
    Stage::Correction,
];

fn lane_index(stage: Stage) -> usize {
    match stage {
        Stage::Identity => 0,
        Stage::FrontDoor => 1,
        Stage::EarlyHelp => 2,
        Stage::ChildInNeed => 3,
        Stage::ChildProtection => 4,
        Stage::Court => 5,
        Stage::LookedAfter => 6,
        Stage::Permanence => 7,
        Stage::LeavingCare => 8,
        Stage::Casework => 9,
        Stage::Correction => 10,
    }
}

fn lane_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Identity => "Identity",
        Stage::FrontDoor => "Front door",
        Stage::EarlyHelp => "Early help",
        Stage::ChildInNeed => "Child in need",
        Stage::ChildProtection => "Child protection",
        Stage::Court => "Court",
        Stage::LookedAfter => "Looked after",
        Stage::Permanence => "Permanence",
        Stage::LeavingCare => "Leaving care",
        Stage::Casework => "Casework",
        Stage::Correction => "Corrections",
    }
}

const WIDTH: f64 = 1160.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const LANE_HEIGHT: f64 = 34.0;

/// Maps dates to x coordinates.
struct Scale {
    from: Date,
    days: f64,
}

impl Scale {
    fn x(&self, date: Date) -> f64 {
        let offset = f64::from(self.from.days_until(date)).clamp(0.0, self.days);
        LEFT + offset / self.days * (WIDTH - LEFT - RIGHT)
    }
}

fn status_class(status: &EventStatus) -> &'static str {
    match status {
        EventStatus::Current => "current",
        EventStatus::Corrected { .. } => "corrected",
        EventStatus::Retracted { .. } => "retracted",
    }
}

/// What an investigator reads of a restriction of use in force on an entry (UK GDPR Art. 18): the fact is
/// shown, and no summary, return, measure or policy uses it.
fn restriction_note(entry: &ChronologyEntry) -> Option<String> {
    entry.restriction.as_ref().map(|r| {
        let what = if r.whole_record {
            "the whole record is"
        } else {
            "this event is"
        };
        format!(
            "{what} restricted by {} ({}): not used by summaries, returns, measures or policies until lifted",
            r.by_event_id,
            r.grounds.code()
        )
    })
}

fn deadline_class(status: DeadlineStatus) -> &'static str {
    match status {
        DeadlineStatus::Met => "met",
        DeadlineStatus::Missed => "missed",
        DeadlineStatus::Open => "open",
        DeadlineStatus::NotApplicable => "not-applicable",
    }
}

/// A query string for this page with the given axes and the purpose.
fn page_query(page: &TimelinePage<'_>, known_at: Timestamp, on: Date) -> String {
    let query = [
        ("on", on.to_string()),
        ("known_at", known_at.to_string()),
        ("purpose", page.purpose.to_string()),
    ];
    format!(
        "{}?{}",
        page.page_path,
        serde_urlencoded::to_string(query).expect("strings encode")
    )
}

/// The whole page.
pub fn render(page: &TimelinePage<'_>) -> String {
    let chronology = page.chronology;
    let as_of = chronology.as_of;
    let child = chronology
        .child_id
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let export_href = format!(
        "{}?{}",
        page.export_path,
        serde_urlencoded::to_string([("purpose", page.purpose)]).expect("strings encode")
    );
    let markup: Markup = html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Timeline of " (child) " — Journey" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 data-testid="child-id" { "Timeline of child " (child) }
                    p.axes data-testid="axes" {
                        "The record on " strong data-testid="on" { (as_of.on) }
                        " as it was known at " strong data-testid="known-at" { (as_of.known_at) }
                        "."
                    }
                    (facts(page.summary))
                }
                (controls(page))
                section aria-label="Timeline" {
                    (legend())
                    (chart(page))
                }
                p {
                    a data-testid="export-link" href=(export_href) {
                        "Download this child's verifiable export (records with their hash links)"
                    }
                }
                @if let Some(proof) = &page.proof {
                    (proof_section(proof))
                }
                (deadline_table(page))
                (entry_table(page))
                footer {
                    "This view was recorded in the access log with the purpose “" (page.purpose) "”."
                }
            }
        }
    };
    markup.into_string()
}

fn facts(summary: &ChildSummary) -> Markup {
    html! {
        dl.facts data-testid="facts" {
            @if let Some(dob) = summary.date_of_birth {
                dt { "Date of birth" } dd { (dob) }
            }
            @if let Some(age) = summary.age {
                dt { "Age" } dd { (age) }
            }
            dt { "Days looked after" } dd { (summary.looked_after_days) }
            dt { "Placements" } dd { (summary.placements) }
            @if let Some(died) = summary.died_on {
                dt { "Died" } dd { (died) }
            }
        }
    }
}

fn controls(page: &TimelinePage<'_>) -> Markup {
    let as_of = page.chronology.as_of;
    html! {
        form.controls method="get" action=(page.page_path) data-testid="controls" {
            input type="hidden" name="purpose" value=(page.purpose);
            label {
                "Date judged (valid time) "
                input type="date" name="on" value=(as_of.on);
            }
            label {
                "Known at (transaction time) "
                select name="known_at" data-testid="known-at-select" {
                    @for instant in &page.recorded_instants {
                        option value=(instant) selected[*instant == as_of.known_at] { (instant) }
                    }
                    @if !page.recorded_instants.contains(&as_of.known_at) {
                        option value=(as_of.known_at) selected { (as_of.known_at) " (chosen)" }
                    }
                }
            }
            button type="submit" { "Show the record as it stood" }
        }
        @if let Some(first) = page.recorded_instants.first() {
            p.steps {
                "Step through what was known: "
                a data-testid="first-known" href=(page_query(page, *first, as_of.on)) { "as first recorded" }
                @if let Some(instant) = page.recorded_instants.iter().rfind(|i| **i < as_of.known_at) {
                    " · " a data-testid="previous-known" href=(page_query(page, *instant, as_of.on)) { "one record earlier" }
                }
                @if let Some(instant) = page.recorded_instants.iter().find(|i| **i > as_of.known_at) {
                    " · " a data-testid="next-known" href=(page_query(page, *instant, as_of.on)) { "one record later" }
                }
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        ul.legend {
            li { svg width="14" height="14" { circle.mark.current cx="7" cy="7" r="5" {} } " recorded event" }
            li { svg width="14" height="14" { circle.mark.corrected cx="7" cy="7" r="5" {} } " corrected" }
            li { svg width="14" height="14" { circle.mark.retracted cx="7" cy="7" r="5" {} } " retracted" }
            li { svg width="18" height="18" { circle.mark.current cx="9" cy="9" r="4" {} circle.restricted-ring cx="9" cy="9" r="7" {} } " restricted (kept, not used)" }
            li { svg width="14" height="14" { path.late d="M7 1 L13 12 L1 12 Z" {} } " recorded late (dashed to the date recorded)" }
            li { svg width="16" height="16" { (deadline_symbol("met", 8.0, 8.0)) } " deadline met (tick)" }
            li { svg width="16" height="16" { (deadline_symbol("missed", 8.0, 8.0)) } " missed (cross)" }
            li { svg width="16" height="16" { (deadline_symbol("open", 8.0, 8.0)) } " open (hollow)" }
        }
    }
}

fn chart(page: &TimelinePage<'_>) -> Markup {
    let chronology = page.chronology;
    let deadlines: &[Deadline] = page.deadlines.as_ref().map(|(_, d)| d.as_slice()).unwrap_or(&[]);
    let on = chronology.as_of.on;
    let mut dates: Vec<Date> = chronology.entries.iter().map(|e| e.occurred_at.date()).collect();
    dates.extend(deadlines.iter().filter_map(|d| d.due_on));
    dates.push(on);
    let from = dates.iter().min().copied().unwrap_or(on).add_days(-14);
    let to = dates.iter().max().copied().unwrap_or(on).add_days(14);
    let scale = Scale {
        from,
        days: f64::from(from.days_until(to).max(1)),
    };
    let deadline_lane = LANES.len();
    let height = TOP + LANE_HEIGHT * (LANES.len() + 1) as f64 + 24.0;
    let lane_y = |i: usize| TOP + LANE_HEIGHT * i as f64 + LANE_HEIGHT / 2.0;
    let years: Vec<i16> = (from.year()..=to.year()).collect();
    let year_step = (years.len() / 12).max(1);
    html! {
        svg.chart data-testid="timeline-chart" viewBox={"0 0 " (WIDTH) " " (height)} role="img"
            aria-label="The child's journey by stage, placed at the dates events occurred" {
            @for (i, stage) in LANES.iter().enumerate() {
                g.lane data-stage=(stage.as_str()) {
                    rect.lane-band x="0" y=(lane_y(i) - LANE_HEIGHT / 2.0) width=(WIDTH) height=(LANE_HEIGHT) {}
                    text.lane-label x="8" y=(lane_y(i) + 4.0) { (lane_label(*stage)) }
                }
            }
            g.lane data-stage="deadlines" {
                rect.lane-band.deadlines x="0" y=(lane_y(deadline_lane) - LANE_HEIGHT / 2.0) width=(WIDTH) height=(LANE_HEIGHT) {}
                text.lane-label x="8" y=(lane_y(deadline_lane) + 4.0) { "Deadlines" }
            }
            @for year in years.iter().step_by(year_step) {
                @if let Ok(jan) = Date::new(*year, 1, 1) {
                    @if jan >= from && jan <= to {
                        line.tick x1=(scale.x(jan)) x2=(scale.x(jan)) y1=(TOP - 6.0) y2=(height - 20.0) {}
                        text.tick-label x=(scale.x(jan) + 3.0) y=(TOP - 10.0) { (year) }
                    }
                }
            }
            line.judged x1=(scale.x(on)) x2=(scale.x(on)) y1=(TOP - 6.0) y2=(height - 20.0) {}
            text.tick-label x=(scale.x(on) + 3.0) y=(height - 8.0) { "judged: " (on) }
            @for entry in &chronology.entries {
                (event_mark(entry, &scale, lane_y(lane_index(entry.stage))))
            }
            @for deadline in deadlines {
                (deadline_mark(deadline, &scale, lane_y(deadline_lane), on))
            }
        }
    }
}

fn event_mark(entry: &ChronologyEntry, scale: &Scale, y: f64) -> Markup {
    let x = scale.x(entry.occurred_at.date());
    let recorded_x = scale.x(entry.recorded_at.england_date());
    let status = status_class(&entry.status);
    let title = format!(
        "{} — {}\noccurred {}, recorded {} by {} ({} days later){}{}{}",
        entry.kind,
        entry.summary,
        entry.occurred_at,
        entry.recorded_at,
        entry.recorded_by,
        entry.lag_days,
        match &entry.status {
            EventStatus::Current => String::new(),
            EventStatus::Corrected {
                reason, by_event_id, ..
            } => format!("\ncorrected by {by_event_id}: {reason}"),
            EventStatus::Retracted {
                reason, by_event_id, ..
            } => format!("\nretracted by {by_event_id}: {}", reason.code()),
        },
        entry
            .originally_occurred_at
            .map(|o| format!("\noriginally recorded as occurring {o}"))
            .unwrap_or_default(),
        restriction_note(entry)
            .map(|note| format!("\n{note}"))
            .unwrap_or_default(),
    );
    html! {
        g.event data-event-id=(entry.event_id) data-kind=(entry.kind) data-status=(status)
            data-restricted=(entry.restriction.is_some())
            data-late=(entry.recorded_late) data-occurred=(entry.occurred_at.date())
            data-recorded=(entry.recorded_at) {
            title { (title) }
            @if entry.recorded_late {
                line.late-tail x1=(x) x2=(recorded_x) y1=(y) y2=(y) {}
                path.late d={"M" (x) " " (y - 14.0) " l5 8 l-10 0 Z"} {}
            }
            circle.mark.(status) cx=(x) cy=(y) r="5" {}
            @if entry.restriction.is_some() {
                circle.restricted-ring cx=(x) cy=(y) r="8" {}
            }
            @if status == "retracted" {
                line.strike x1=(x - 6.0) x2=(x + 6.0) y1=(y - 6.0) y2=(y + 6.0) {}
            }
        }
    }
}

fn deadline_mark(deadline: &Deadline, scale: &Scale, y: f64, judged: Date) -> Markup {
    let status = deadline_class(deadline.status);
    let Some(due) = deadline.due_on else {
        return html! {};
    };
    let x = scale.x(due);
    let until = deadline.completed_on.unwrap_or(judged);
    let title = format!(
        "{} ({}): due {}{}{} — {}",
        deadline.name,
        deadline.rule,
        due,
        deadline
            .completed_on
            .map(|d| format!(", done {d}"))
            .unwrap_or_default(),
        deadline
            .lateness()
            .map(|late| format!(", {late} late"))
            .unwrap_or_default(),
        status
    );
    html! {
        g.deadline-mark data-deadline=(deadline.name) data-status=(status) data-due=(due) {
            title { (title) }
            @if deadline.status == DeadlineStatus::Missed {
                line.overdue x1=(x) x2=(scale.x(until)) y1=(y) y2=(y) {}
            }
            (deadline_symbol(status, x, y))
        }
    }
}

/// A deadline's mark: a diamond whose shape inside says the status as well as its colour does (WCAG 1.4.1):
/// a tick for met, a cross for missed, hollow for open.
fn deadline_symbol(status: &str, x: f64, y: f64) -> Markup {
    html! {
        rect.deadline.(status) x=(x - 5.0) y=(y - 5.0) width="10" height="10" transform={"rotate(45 " (x) " " (y) ")"} {}
        @match status {
            "met" => path.glyph d=(format!("M{} {} l2.5 2.5 l4 -5", x - 3.5, y)) {},
            "missed" => path.glyph d=(format!("M{} {} l6 6 M{} {} l6 -6", x - 3.0, y - 3.0, x - 3.0, y + 3.0)) {},
            _ => {}
        }
    }
}

fn deadline_table(page: &TimelinePage<'_>) -> Markup {
    html! {
        section aria-labelledby="deadlines-heading" {
            h2 #deadlines-heading { "Statutory deadlines" }
            @match &page.deadlines {
                Err(why) => p data-testid="deadlines-unavailable" { (why) },
                Ok((policy, deadlines)) => {
                    p { "Computed by " (policy) " for the date judged, from the record as known at the instant." }
                    table data-testid="deadlines" {
                        thead { tr { th { "Deadline" } th { "Due" } th { "Status" } th { "Done" } th { "Late by" } th { "Rule" } } }
                        tbody {
                            @for d in deadlines {
                                tr data-status=(deadline_class(d.status)) {
                                    td { (d.name) }
                                    td { @if let Some(due) = d.due_on { (due) } }
                                    td { (deadline_class(d.status)) }
                                    td { @if let Some(done) = d.completed_on { (done) } }
                                    td { @if let Some(late) = d.lateness() { (late) } }
                                    td { (d.rule) " (" (d.source) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn proof_section(proof: &ProofView) -> Markup {
    html! {
        section aria-labelledby="proof-heading" data-testid="proof" {
            h2 #proof-heading { "What proves these records" }
            @if proof.groups.is_empty() {
                p { "Nothing shown to prove." }
            } @else {
                p {
                    "Each record below is proven against a checkpoint signed by log " (proof.origin)
                    ": the child's verifiable export carries, for each record, an inclusion proof leading to it."
                }
                ul {
                    @for group in &proof.groups {
                        li id=(group.anchor()) data-testid="proof-group" { (group.in_words(&proof.origin)) }
                    }
                }
            }
        }
    }
}

fn entry_table(page: &TimelinePage<'_>) -> Markup {
    let proven = |position: u64| {
        page.proof.as_ref().and_then(|p| {
            p.groups
                .iter()
                .find(|g| g.positions.binary_search(&position).is_ok())
        })
    };
    html! {
        section aria-labelledby="entries-heading" {
            h2 #entries-heading { "Chronology" }
            table data-testid="entries" {
                thead {
                    tr {
                        th { "Occurred" } th { "Recorded" } th { "Lag (days)" } th { "Event" } th { "Summary" } th { "Status" } th { "Source" }
                        @if page.proof.is_some() { th { "Proven against" } }
                    }
                }
                tbody {
                    @for e in &page.chronology.entries {
                        tr data-event-id=(e.event_id) data-position=(e.position.0) data-status=(status_class(&e.status)) data-restricted=(e.restriction.is_some()) data-late=(e.recorded_late) {
                            td { (e.occurred_at) }
                            td { (e.recorded_at) }
                            td.number { (e.lag_days) @if e.recorded_late { " ▲" } }
                            td { (e.kind) }
                            td { (e.summary) }
                            td {
                                (status_class(&e.status))
                                @if let Some(note) = restriction_note(e) { br; strong { "restricted" } " — " (note) }
                            }
                            td { (e.source.agency) " / " (e.source.system) }
                            @if page.proof.is_some() {
                                td data-testid="proven-against" {
                                    @if let Some(group) = proven(e.position.0) {
                                        a href={"#" (group.anchor())} { (group.short_words()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.facts { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }
.facts dt { font-weight: 600; }
.controls { margin: 1rem 0 .4rem; display: flex; gap: 1rem; flex-wrap: wrap; align-items: end; }
.legend { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; font-size: .85rem; }
.chart { width: 100%; max-width: 1160px; border: 1px solid #ccc; background: #fff; }
.lane-band { fill: #fafafa; stroke: #eee; }
.lane-band.deadlines { fill: #f3f6fb; }
.lane-label, .tick-label { font-size: 11px; fill: #444; }
.tick { stroke: #ddd; }
.judged { stroke: #1d70b8; stroke-dasharray: 4 3; }
.mark.current { fill: #1d70b8; }
.mark.corrected { fill: #1d70b8; stroke: #f47738; stroke-width: 3; }
.mark.retracted { fill: #fff; stroke: #777; stroke-width: 1.5; }
.strike { stroke: #777; stroke-width: 1.5; }
.restricted-ring { fill: none; stroke: #6f3d94; stroke-width: 2; stroke-dasharray: 3 2; }
.late { fill: #d4351c; }
.late-tail { stroke: #d4351c; stroke-dasharray: 3 3; }
.deadline.met { fill: #00703c; }
.deadline.missed { fill: #d4351c; }
.deadline.open { fill: #fff; stroke: #594d00; stroke-width: 1.5; }
.glyph { fill: none; stroke: #fff; stroke-width: 1.6; stroke-linecap: round; }
.deadline.not-applicable { fill: #bbb; }
.overdue { stroke: #d4351c; stroke-width: 3; opacity: .5; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-size: .85rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
tr[data-status="retracted"] td { text-decoration: line-through; color: #595959; }
tr[data-restricted="true"] td { background: #f4eff8; }
tr[data-late="true"] td.number { color: #a4271b; font-weight: 600; }
footer { font-size: .8rem; color: #555; }
"#;
