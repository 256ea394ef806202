//! What an import of earlier returns reports about its children, whichever return it reads (SSDA903 tables,
//! CIN census XML): one tally, filled the same way by both imports, that a migration team can act on.
//!
//! * **Bad values** (`problems`): a cell or element the file gives wrongly (a missing required value, a code
//!   not in the list, a date that is not one). The child is refused; correcting the file imports it.
//! * **The journey's rules** (`refused_by_rules`): facts that are well formed but break a rule of the
//!   child's journey (an episode ended before it started, a period continued after it ended). The child is
//!   refused: the history itself needs correcting.
//! * **Conflicts** (`conflicts`): facts that disagree with what the log already holds. The child is refused.
//! * **Identifiers failing their check** (`flagged`): a UPN, former UPN, NHS number or postcode that fails its
//!   check is kept as recorded (`InvalidIdentifierRecorded`) and not used; the child is imported.
//! * `by_rule` counts all four by rule, and `refused_only_for_values` names the children whose every reason
//!   for refusal is a bad value: fixing those values in the files brings them in.

use std::collections::BTreeMap;

use serde::Serialize;

use journey_core::domain::lists::IdentifierKind;
use journey_core::domain::{InvalidIdentifierRecorded, LongText, ShortText};

use crate::ssda903::RowProblem;

/// How the import of one child went.
#[derive(Debug, Default)]
pub(crate) struct ChildOutcome {
    /// Refused for bad values the reader already reported (and counted).
    pub refused: bool,
    pub appended: usize,
    pub already: usize,
    pub problems: Vec<RowProblem>,
    pub refused_by_rules: Vec<RowProblem>,
    pub conflicts: Vec<RowProblem>,
    /// Facts the log cannot hold (a census's `NumberOfPreviousCPP` beyond the plans recorded).
    pub unrecorded: Vec<RowProblem>,
    pub flagged: Vec<RowProblem>,
}

/// One rule and how often the import met it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// `problem`, `journey rule`, `conflict` or `identifier kept`.
    pub kind: &'static str,
    /// The column or element (its path's last part for census elements).
    pub column: String,
    /// The rule, with the values it quotes left out.
    pub rule: String,
    pub count: usize,
    /// Children it concerns.
    pub children: usize,
}

/// The children of an import: how many went which way, and every reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChildTally {
    /// Children with at least one new event appended.
    pub children_imported: usize,
    /// Children whose every fact was already recorded.
    pub children_unchanged: usize,
    /// Children not imported (see `problems`, `refused_by_rules` and `conflicts`).
    pub children_refused: usize,
    pub events_appended: usize,
    /// Facts in the files that the log already held (not recorded again).
    pub facts_already_present: usize,
    /// Bad values: rows, cells or elements the files give wrongly.
    pub problems: Vec<RowProblem>,
    /// Well-formed facts the journey's rules refuse.
    pub refused_by_rules: Vec<RowProblem>,
    /// Facts that disagree with what the log holds (another year's return, or another system).
    pub conflicts: Vec<RowProblem>,
    /// Identifiers that fail their check, kept as recorded and flagged; their children were imported.
    pub flagged: Vec<RowProblem>,
    /// Every problem, journey rule, conflict and flagged identifier, counted by rule, most frequent first.
    pub by_rule: Vec<RuleCount>,
    /// Children refused only for bad values: correcting those values in the files imports them.
    pub refused_only_for_values: Vec<String>,
}

impl ChildTally {
    /// Counts one child's outcome; returns what the log could not hold, for the caller's report.
    pub(crate) fn add(&mut self, child: &str, o: ChildOutcome) -> Vec<RowProblem> {
        self.facts_already_present += o.already;
        self.flagged.extend(o.flagged);
        let refused =
            o.refused || !o.problems.is_empty() || !o.refused_by_rules.is_empty() || !o.conflicts.is_empty();
        if refused {
            self.children_refused += 1;
            if o.refused_by_rules.is_empty() && o.conflicts.is_empty() {
                self.refused_only_for_values.push(child.to_owned());
            }
            self.problems.extend(o.problems);
            self.refused_by_rules.extend(o.refused_by_rules);
            self.conflicts.extend(o.conflicts);
        } else if o.appended > 0 {
            self.children_imported += 1;
            self.events_appended += o.appended;
        } else {
            self.children_unchanged += 1;
        }
        o.unrecorded
    }

    /// Sorts every list by file and place, and counts the rules.
    pub(crate) fn finish(&mut self) {
        let key = |p: &RowProblem| (p.file.clone(), p.row, p.column.clone());
        for list in [
            &mut self.problems,
            &mut self.refused_by_rules,
            &mut self.conflicts,
            &mut self.flagged,
        ] {
            list.sort_by_key(key);
        }
        self.refused_only_for_values.sort();
        let mut counts: BTreeMap<(&'static str, String, String), (usize, Vec<&str>)> = BTreeMap::new();
        for (kind, list) in [
            ("problem", &self.problems),
            ("journey rule", &self.refused_by_rules),
            ("conflict", &self.conflicts),
            ("identifier kept", &self.flagged),
        ] {
            for p in list {
                let column = rule_shape(p.column.rsplit('/').next().unwrap_or_default());
                let c = counts.entry((kind, column, rule_shape(&p.rule))).or_default();
                c.0 += 1;
                if let Some(child) = p.child.as_deref() {
                    c.1.push(child);
                }
            }
        }
        self.by_rule = counts
            .into_iter()
            .map(|((kind, column, rule), (count, mut children))| {
                children.sort_unstable();
                children.dedup();
                RuleCount {
                    kind,
                    column,
                    rule,
                    count,
                    children: children.len(),
                }
            })
            .collect();
        self.by_rule
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(b.kind)));
    }
}

/// A rule's words without the values it quotes or the numbers in it (`must be a date (got "31/02/2020")` →
/// `must be a date (got "…")`, `events[4].occurred_at` → `events[#].occurred_at`), so that one rule met on
/// many rows counts once.
fn rule_shape(rule: &str) -> String {
    let mut out = String::with_capacity(rule.len());
    let mut quoted = false;
    for c in rule.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if quoted {
        } else if c.is_ascii_digit() {
            // Dates, counts and event indices differ row by row: `#` for each run of digits.
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The record of an identifier kept as recorded that fails its check, and its line in the report.
pub(crate) fn flagged_identifier(
    identifier: IdentifierKind,
    recorded: &str,
    problem: &str,
) -> InvalidIdentifierRecorded {
    let recorded: String = recorded.chars().take(ShortText::MAX_CHARS).collect();
    InvalidIdentifierRecorded {
        identifier,
        recorded: ShortText::parse(recorded.trim().to_owned())
            .unwrap_or_else(|_| ShortText::parse("(unreadable)").expect("valid text")),
        problem: LongText::parse(problem.to_owned())
            .unwrap_or_else(|_| LongText::parse("fails its check").expect("valid text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_counted_without_the_values_it_quotes() {
        assert_eq!(
            rule_shape(r#"must be a date dd/mm/yyyy (got "31/02/2020")"#),
            r#"must be a date dd/mm/yyyy (got "…")"#
        );
        assert_eq!(rule_shape("is required"), "is required");
        assert_eq!(
            rule_shape("events[10].type is after the child's death (2007-07-04)"),
            "events[#].type is after the child's death (#-#-#)"
        );
    }

    #[test]
    fn children_refused_only_for_bad_values_are_named() {
        let p = |child: &str, rule: &str| RowProblem {
            file: "f.csv".into(),
            row: 2,
            column: "DOB".into(),
            rule: rule.into(),
            child: Some(child.into()),
        };
        let mut t = ChildTally::default();
        t.add(
            "A",
            ChildOutcome {
                problems: vec![p("A", r#"must be a date (got "x")"#)],
                ..ChildOutcome::default()
            },
        );
        t.add(
            "B",
            ChildOutcome {
                problems: vec![p("B", r#"must be a date (got "y")"#)],
                refused_by_rules: vec![p("B", "ended before it started")],
                ..ChildOutcome::default()
            },
        );
        t.add(
            "C",
            ChildOutcome {
                appended: 3,
                flagged: vec![p("C", "wrong check letter")],
                ..ChildOutcome::default()
            },
        );
        t.finish();
        assert_eq!(t.refused_only_for_values, ["A"]);
        assert_eq!((t.children_refused, t.children_imported), (2, 1));
        assert_eq!(t.flagged.len(), 1);
        let date = t
            .by_rule
            .iter()
            .find(|r| r.kind == "problem")
            .expect("the date rule");
        assert_eq!((date.count, date.children), (2, 2), "{:?}", t.by_rule);
    }
}
