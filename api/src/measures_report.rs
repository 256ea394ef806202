//! The timeliness report a manager opens in a browser: server-rendered HTML with SVG charts (no script, no
//! build step). One chart per measure (the share on time per month, the authority's line over each team's
//! bars), then the tables behind it: every team and month, re-referrals, recording lag by agency and by kind
//! of event, and the adoption scorecard against its thresholds.
//!
//! Rendering is a pure function of [`MeasuresPage`]; the handler in `routes::measures` gathers the data.

use std::collections::{BTreeMap, BTreeSet};

use journey_returns::timeliness::{MeasuresReport, ScorecardMeasure, TimelinessRow};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Everything the report shows.
#[derive(Debug)]
pub struct MeasuresPage<'a> {
    pub report: &'a MeasuresReport,
    /// The statutory-timescales version that judged the deadlines, or why there are none.
    pub policy: Result<String, String>,
    /// Children the policy could not judge.
    pub failures: usize,
    /// This page's query (`from=…&to=…&known_at=…`), for the CSV links.
    pub query: String,
}

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; max-width: 72rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .2rem .6rem; text-align: right; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
.met { color: #0b6e2e; } .missed { color: #a4161a; font-weight: 600; }
.note { color: #555; font-size: .9rem; } figure { margin: 0 0 1rem; } figcaption { font-weight: 600; }
svg text { font-size: 11px; fill: #333; }
"#;

/// A measure's share on time, over all teams, per month.
fn by_month(rows: &[&TimelinessRow]) -> BTreeMap<String, (usize, usize, usize)> {
    let mut months: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for r in rows {
        let m = months.entry(r.month.clone()).or_default();
        m.0 += r.on_time;
        m.1 += r.late;
        m.2 += r.not_yet_due;
    }
    months
}

fn percent(on_time: usize, late: usize) -> Option<f64> {
    (on_time + late > 0).then(|| on_time as f64 * 100.0 / (on_time + late) as f64)
}

/// Bars of the share on time per month (0 to 100 %), with counts in each bar's title.
fn chart(months: &BTreeMap<String, (usize, usize, usize)>) -> Markup {
    let (width, height, left, bottom) = (720.0, 180.0, 36.0, 28.0);
    let n = months.len().max(1) as f64;
    let slot = (width - left) / n;
    let bar = (slot * 0.7).max(2.0);
    let y = |p: f64| (height - bottom) * (1.0 - p / 100.0);
    html! {
        svg width=(width) height=(height) viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label="Share on time per month" {
            @for p in [0.0, 50.0, 100.0] {
                line x1=(left) x2=(width) y1=(y(p)) y2=(y(p)) stroke="#ddd" {}
                text x="0" y=(y(p) + 4.0) { (format!("{p:.0}%")) }
            }
            @for (i, (month, (on_time, late, open))) in months.iter().enumerate() {
                @let x = left + i as f64 * slot + (slot - bar) / 2.0;
                @match percent(*on_time, *late) {
                    Some(p) => {
                        rect.bar x=(x) y=(y(p)) width=(bar) height=((height - bottom) - y(p))
                            fill=(if p >= 90.0 { "#2d6a4f" } else if p >= 75.0 { "#e9c46a" } else { "#c1121f" })
                            data-month=(month) data-percent=(format!("{p:.1}")) {
                            title { (format!("{month}: {p:.1}% on time ({on_time} on time, {late} late, {open} not yet due)")) }
                        }
                    }
                    None => {
                        text x=(x) y=(height - bottom - 4.0) { "–" }
                    }
                }
                @if months.len() <= 24 || i % 3 == 0 {
                    text x=(x) y=(height - 8.0) { (month.get(2..).unwrap_or(month)) }
                }
            }
        }
    }
}

fn scorecard_row(name: &str, words: &str, m: &ScorecardMeasure) -> Markup {
    html! {
        tr {
            td { (name) } td.text { (words) } td { (m.children) }
            td { (m.average_days.map_or("–".to_owned(), |d| format!("{d:.1}"))) }
            td { (m.threshold_days) }
            td class=(match m.met { Some(true) => "met", Some(false) => "missed", None => "" }) {
                (match m.met { Some(true) => "met", Some(false) => "missed", None => "–" })
            }
        }
    }
}

pub fn render(page: &MeasuresPage<'_>) -> String {
    let r = page.report;
    let mut measures: Vec<(&str, &str)> = Vec::new();
    for row in &r.timeliness {
        if !measures.iter().any(|(code, _)| *code == row.measure) {
            measures.push((&row.measure, &row.label));
        }
    }
    let teams: BTreeSet<&str> = r.timeliness.iter().map(|t| t.team.as_str()).collect();
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                title { "Timeliness " (r.from) " to " (r.to) " · Journey" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 data-testid="title" { "Timeliness, " (r.from) " to " (r.to) }
                p.note {
                    "From the record as it stood at " (r.known_at) ", " (r.children) " children. Deadlines judged by "
                    @match &page.policy {
                        Ok(policy) => { strong { (policy) } }
                        Err(why) => { em { (why) } }
                    }
                    @if page.failures > 0 { " (" (page.failures) " children could not be judged and are not counted)" }
                    ". Month is the month a deadline fell due; team is the social worker's team on that day. "
                    "Download: "
                    @for section in ["timeliness", "re-referrals", "recording-lag", "adoption"] {
                        a href=(format!("/v1/measures/sections/{section}?{}", page.query)) { (section) ".csv" } " "
                    }
                }
                @for (code, label) in &measures {
                    @let rows: Vec<&TimelinessRow> = r.timeliness.iter().filter(|t| t.measure == *code).collect();
                    @let months = by_month(&rows);
                    @let (on_time, late) = months.values().fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
                    figure data-testid="measure" data-measure=(code) {
                        figcaption {
                            (label) ": "
                            (percent(on_time, late).map_or("nothing due".to_owned(), |p| format!("{p:.1}% on time")))
                            " (" (on_time) " of " (on_time + late) ")"
                        }
                        (chart(&months))
                    }
                }
                @if measures.is_empty() { p.note { "No statutory deadline fell due in the period." } }

                h2 { "By team" }
                table data-testid="teams" {
                    thead { tr { th.text { "Measure" } @for team in &teams { th { (team) } } } }
                    tbody {
                        @for (code, label) in &measures {
                            tr {
                                td.text { (label) }
                                @for team in &teams {
                                    @let (on_time, late) = r.timeliness.iter()
                                        .filter(|t| t.measure == *code && t.team == *team)
                                        .fold((0, 0), |a, t| (a.0 + t.on_time, a.1 + t.late));
                                    td { (percent(on_time, late).map_or("–".to_owned(), |p| format!("{p:.0}% ({on_time}/{})", on_time + late))) }
                                }
                            }
                        }
                    }
                }

                h2 { "Re-referrals within 12 months" }
                @let referrals: usize = r.re_referrals.iter().map(|x| x.referrals).sum();
                @let again: usize = r.re_referrals.iter().map(|x| x.within_12_months).sum();
                p data-testid="re-referrals" {
                    (again) " of " (referrals) " referrals "
                    (percent(again, referrals - again).map_or(String::new(), |p| format!("({p:.1}%)")))
                    " came within 12 months of the child's previous referral."
                }

                h2 { "Recording lag" }
                p.note { "Days from when something happened to when it was recorded, for records made in the period." }
                table data-testid="lag" {
                    thead { tr { th.text { "Agency or kind of event" } th { "Records" } th { "Median days" } th { "90th percentile" } th { "Recorded late" } } }
                    tbody {
                        @for row in r.recording_lag.iter().filter(|l| l.by == "agency").chain(r.recording_lag.iter().filter(|l| l.by != "agency")) {
                            tr {
                                td.text { (row.key) }
                                td { (row.records) } td { (row.median_days) } td { (row.p90_days) }
                                td { (row.late) " (" (percent(row.late, row.records - row.late).map_or(0.0, |p| p).round()) "%)" }
                            }
                        }
                    }
                }

                h2 { "Adoption scorecard, " (r.adoption.from) " to " (r.adoption.to) }
                table data-testid="adoption" {
                    thead { tr { th { "Measure" } th.text { "" } th { "Children" } th { "Average days" } th { "Threshold" } th { "" } } }
                    tbody {
                        (scorecard_row("A1", "Entering care to moving in with the adoptive family", &r.adoption.a1))
                        (scorecard_row("A2", "Placement order to match", &r.adoption.a2))
                        (scorecard_row("A10", "A1, the clock stopping when a foster carer who adopted took the child in", &r.adoption.a10))
                    }
                }
            }
        }
    }
    .into_string()
}
