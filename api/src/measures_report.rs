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
    /// National or local targets, at most one per measure, drawn on its chart.
    pub targets: &'a [MeasureTarget],
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

/// A target for a measure's share on time, drawn across its chart.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureTarget {
    /// The measure's code (`assessment`).
    pub measure: String,
    /// The share on time aimed at, 0 to 100.
    pub percent: f64,
    /// Whose target: `national` or `local` (shown beside the line).
    pub set_by: String,
}

/// One month of a measure, over all teams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Month {
    on_time: usize,
    late: usize,
    not_yet_due: usize,
}

/// Every month from `from`'s to `to`'s (`2024-05`), so that every chart has the same axis.
fn months_between(from: journey_core::Date, to: journey_core::Date) -> Vec<String> {
    let (mut y, mut m) = (i32::from(from.year()), i32::from(from.month()));
    let last = (i32::from(to.year()), i32::from(to.month()));
    let mut out = Vec::new();
    while (y, m) <= last {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// A measure's deadlines per month of `axis`, over all teams (months without any are there, empty).
fn by_month(rows: &[&TimelinessRow], axis: &[String]) -> Vec<(String, Month)> {
    let mut months: BTreeMap<&str, Month> = axis.iter().map(|m| (m.as_str(), Month::default())).collect();
    for r in rows {
        if let Some(m) = months.get_mut(r.month.as_str()) {
            m.on_time += r.on_time;
            m.late += r.late;
            m.not_yet_due += r.not_yet_due;
        }
    }
    months.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn percent(on_time: usize, late: usize) -> Option<f64> {
    (on_time + late > 0).then(|| on_time as f64 * 100.0 / (on_time + late) as f64)
}

/// Bars of the share on time per month (0 to 100 %), with counts in each bar's title. A month in which
/// deadlines fell due and none was met shows a red mark on the axis and "0%"; a month in which none fell
/// due shows a grey "none" slot, so the two never look alike. `target`, when there is one, is a dashed line.
fn chart(months: &[(String, Month)], target: Option<&MeasureTarget>) -> Markup {
    // `top` leaves room for the 100% label, which is drawn centred on its gridline.
    let (width, height, left, top, bottom) = (720.0, 196.0, 36.0, 12.0, 28.0);
    let n = months.len().max(1) as f64;
    let slot = (width - left) / n;
    let bar = (slot * 0.7).max(2.0);
    let base = height - bottom;
    let y = |p: f64| top + (base - top) * (1.0 - p / 100.0);
    html! {
        svg width=(width) height=(height) viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label="Share on time per month" {
            @for p in [0.0, 50.0, 100.0] {
                line x1=(left) x2=(width) y1=(y(p)) y2=(y(p)) stroke="#ddd" {}
                text x="0" y=(y(p) + 4.0) { (format!("{p:.0}%")) }
            }
            @for (i, (month, m)) in months.iter().enumerate() {
                @let x = left + i as f64 * slot + (slot - bar) / 2.0;
                @match percent(m.on_time, m.late) {
                    Some(p) if p > 0.0 => {
                        rect.bar x=(x) y=(y(p)) width=(bar) height=(base - y(p))
                            fill=(if p >= 90.0 { "#2d6a4f" } else if p >= 75.0 { "#e9c46a" } else { "#c1121f" })
                            data-month=(month) data-percent=(format!("{p:.1}")) {
                            title { (format!("{month}: {p:.1}% on time ({} on time, {} late, {} not yet due)", m.on_time, m.late, m.not_yet_due)) }
                        }
                    }
                    Some(_) => {
                        g.bar.none-on-time data-month=(month) data-percent="0.0" {
                            title { (format!("{month}: none on time ({} late, {} not yet due)", m.late, m.not_yet_due)) }
                            rect x=(x) y=(base - 3.0) width=(bar) height="3" fill="#c1121f" {}
                            text x=(x) y=(base - 6.0) fill="#a4161a" { "0%" }
                        }
                    }
                    None => {
                        g.no-deadlines data-month=(month) {
                            title {
                                (month) ": no deadlines fell due"
                                @if m.not_yet_due > 0 { " (" (m.not_yet_due) " not yet due)" }
                            }
                            rect x=(x) y=(top) width=(bar) height=(base - top) fill="#f3f3f3"
                                stroke="#ccc" stroke-dasharray="2 2" {}
                            text x=(x + 1.0) y=(base - 6.0) fill="#777" { "none" }
                        }
                    }
                }
                @if months.len() <= 24 || i % 3 == 0 {
                    text x=(x) y=(height - 8.0) { (month.get(2..).unwrap_or(month)) }
                }
            }
            @if let Some(t) = target {
                g.target data-percent=(format!("{:.1}", t.percent)) data-set-by=(t.set_by) {
                    title { (format!("{} target: {:.0}% on time", t.set_by, t.percent)) }
                    line x1=(left) x2=(width) y1=(y(t.percent)) y2=(y(t.percent)) stroke="#1d3557"
                        stroke-width="1.5" stroke-dasharray="6 3" {}
                    text x=(width - 4.0) y=(y(t.percent) - 3.0) text-anchor="end" fill="#1d3557" {
                        (format!("{} target {:.0}%", t.set_by, t.percent))
                    }
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
                @let axis = months_between(r.from, r.to);
                @if !measures.is_empty() {
                    p.note data-testid="legend" {
                        "Every month from " (r.from) " to " (r.to) " is on each chart. A grey slot marked “none”: no deadline fell due that month. "
                        "A red mark marked 0%: deadlines fell due and none was met. A dashed line: the measure's target, where one is set."
                    }
                }
                @for (code, label) in &measures {
                    @let rows: Vec<&TimelinessRow> = r.timeliness.iter().filter(|t| t.measure == *code).collect();
                    @let months = by_month(&rows, &axis);
                    @let (on_time, late) = months.iter().fold((0, 0), |a, (_, m)| (a.0 + m.on_time, a.1 + m.late));
                    @let target = page.targets.iter().find(|t| t.measure == *code);
                    figure data-testid="measure" data-measure=(code) {
                        figcaption {
                            (label) ": "
                            (percent(on_time, late).map_or("nothing due".to_owned(), |p| format!("{p:.1}% on time")))
                            " (" (on_time) " of " (on_time + late) ")"
                        }
                        (chart(&months, target))
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

#[cfg(test)]
mod tests {
    use journey_core::Date;
    use journey_returns::timeliness::{AdoptionScorecard, MeasuresReport, ScorecardMeasure, TimelinessRow};

    use super::*;

    fn date(s: &str) -> Date {
        Date::parse_field("date", s).unwrap()
    }

    fn row(measure: &str, month: &str, on_time: usize, late: usize, not_yet_due: usize) -> TimelinessRow {
        TimelinessRow {
            month: month.into(),
            team: "Team A".into(),
            measure: measure.into(),
            label: measure.into(),
            on_time,
            late,
            not_yet_due,
            total: on_time + late + not_yet_due,
            percent_on_time: percent(on_time, late),
        }
    }

    fn report(timeliness: Vec<TimelinessRow>) -> MeasuresReport {
        let none = ScorecardMeasure {
            children: 0,
            average_days: None,
            threshold_days: 426,
            met: None,
        };
        MeasuresReport {
            from: date("2024-04-01"),
            to: date("2024-09-30"),
            known_at: journey_core::Timestamp::parse_field("t", "2024-10-01T00:00:00Z").unwrap(),
            children: 10,
            timeliness,
            re_referrals: Vec::new(),
            recording_lag: Vec::new(),
            adoption: AdoptionScorecard {
                from: date("2021-10-01"),
                to: date("2024-09-30"),
                adopted: 0,
                a1: none.clone(),
                a2: none.clone(),
                a10: none,
            },
        }
    }

    fn page(report: &MeasuresReport, targets: &[MeasureTarget]) -> String {
        render(&MeasuresPage {
            report,
            policy: Ok("statutory-timescales 1.0.1".into()),
            failures: 0,
            query: String::new(),
            targets,
        })
    }

    /// The figure of one measure, as rendered.
    fn figure<'p>(html: &'p str, measure: &str) -> &'p str {
        let start = html
            .find(&format!("data-measure=\"{measure}\""))
            .unwrap_or_else(|| panic!("{measure}: {html}"));
        let end = html[start..].find("</figure>").unwrap() + start;
        &html[start..end]
    }

    #[test]
    fn every_month_is_on_every_chart_and_no_deadlines_differs_from_none_on_time() {
        let r = report(vec![
            row("assessment", "2024-04", 3, 1, 0),
            row("assessment", "2024-06", 0, 2, 0),
            row("assessment", "2024-07", 0, 0, 1),
            row("contact-decision", "2024-09", 5, 0, 0),
        ]);
        let html = page(&r, &[]);
        for measure in ["assessment", "contact-decision"] {
            let f = figure(&html, measure);
            let months: Vec<&str> = f
                .match_indices("data-month=\"")
                .map(|(i, m)| &f[i + m.len()..i + m.len() + 7])
                .collect();
            assert_eq!(
                months,
                ["2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09"],
                "{measure}: the same six months, in order, on both charts"
            );
        }
        let f = figure(&html, "assessment");
        // May: nothing fell due; June: two fell due, none on time; July: one not yet due, none due.
        assert!(f.contains("class=\"no-deadlines\" data-month=\"2024-05\""), "{f}");
        assert!(
            f.contains("class=\"bar none-on-time\" data-month=\"2024-06\" data-percent=\"0.0\""),
            "{f}"
        );
        assert!(f.contains("2024-06: none on time (2 late, 0 not yet due)"), "{f}");
        assert!(
            f.contains("2024-07: no deadlines fell due (1 not yet due)"),
            "{f}"
        );
        assert!(f.contains("data-month=\"2024-04\" data-percent=\"75.0\""), "{f}");
        assert!(html.contains("data-testid=\"legend\""));
        assert!(!f.contains("class=\"target\""), "no target given: {f}");
    }

    #[test]
    fn the_100_percent_label_is_inside_the_chart() {
        let html = page(&report(vec![row("assessment", "2024-04", 1, 0, 0)]), &[]);
        let f = figure(&html, "assessment");
        let label = f.find(">100%</text>").expect("a 100% label");
        let y_at = f[..label].rfind("y=\"").unwrap() + 3;
        let y: f64 = f[y_at..y_at + f[y_at..].find('"').unwrap()].parse().unwrap();
        // The label's baseline must leave room for its 11px glyphs above it.
        assert!(y >= 11.0, "the 100% label's baseline is at y={y}: clipped");
    }

    #[test]
    fn a_target_is_drawn_on_its_measure_only() {
        let r = report(vec![
            row("assessment", "2024-04", 3, 1, 0),
            row("contact-decision", "2024-04", 1, 0, 0),
        ]);
        let targets = [MeasureTarget {
            measure: "assessment".into(),
            percent: 85.0,
            set_by: "local".into(),
        }];
        let html = page(&r, &targets);
        let f = figure(&html, "assessment");
        assert!(
            f.contains("class=\"target\" data-percent=\"85.0\" data-set-by=\"local\""),
            "{f}"
        );
        assert!(f.contains("local target 85%"), "{f}");
        assert!(!figure(&html, "contact-decision").contains("class=\"target\""));
    }
}
