//! Candidate duplicate records: two streams that may be one child (issue #20, "Finding duplicates").
//!
//! A child known to the front door under one identifier and to the looked-after team under another, or an
//! unborn child registered twice, is counted twice in returns and seen as half a story. This module only
//! proposes pairs for a person to decide; nothing here merges anything.
//!
//! A pair is proposed when the two records, as known at an instant, share
//! - an NHS number, or a UPN (current or former, either way round): strong, since each identifies one
//!   person; or
//! - a date of birth (or, for unborn children, an expected date of birth) and names alike: the best
//!   Jaro-Winkler similarity of their normalised full names at least [`SIMILAR_NAMES`] (a typo, a
//!   transposition, a preferred name). Two records with the same date of birth and no names are not
//!   proposed: twins are common enough.
//!
//! Only facts in use count: a retracted or restricted registration or amendment is not evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::domain::EventPayload;
use crate::envelope::RecordedEvent;
use crate::ids::ChildId;
use crate::time::{Date, Timestamp};
use crate::view::known_at_borrowed;

/// Names at least this alike (Jaro-Winkler, 0 to 1) with the same date of birth make a candidate pair.
pub const SIMILAR_NAMES: f64 = 0.88;

/// What identifies a child, from the record as known at an instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub child_id: Option<ChildId>,
    /// Normalised full names (`given family`, `preferred family`): lower case, letters and single spaces.
    pub names: BTreeSet<String>,
    pub date_of_birth: Option<Date>,
    pub expected_date_of_birth: Option<Date>,
    /// The current and former UPNs.
    pub upns: BTreeSet<String>,
    pub nhs_number: Option<String>,
    /// The family (Annex A list 10's family identifier), for finding a child's siblings.
    pub family_id: Option<String>,
}

/// The payload kinds an identity is made from (and the events about events that may touch them): what a
/// caller scanning the whole log keeps of each child.
pub fn bears_on_identity(payload: &EventPayload) -> bool {
    matches!(
        payload,
        EventPayload::ChildRegistered(_) | EventPayload::ChildDetailsAmended(_)
    ) || payload.kind().is_about_events()
}

/// The child's identity from `events` (one child's records, or those of them [`bears_on_identity`] keeps)
/// as known at `known_at`: the registration, then each amendment in occurred order.
pub fn identity(events: &[RecordedEvent], known_at: Timestamp) -> Identity {
    let mut facts: Vec<_> = known_at_borrowed(events, known_at)
        .into_iter()
        .filter(|e| e.is_in_use())
        .collect();
    facts.sort_by_key(|e| (e.occurred_at.date(), e.envelope.version));
    let mut id = Identity {
        child_id: events.first().map(|e| e.envelope.child_id.clone()),
        ..Identity::default()
    };
    let (mut given, mut family, mut preferred) = (None, None, None);
    for fact in facts {
        match fact.payload {
            EventPayload::ChildRegistered(r) => {
                given = r.given_name.as_ref().map(|t| t.as_str().to_owned());
                family = r.family_name.as_ref().map(|t| t.as_str().to_owned());
                preferred = r.preferred_name.as_ref().map(|t| t.as_str().to_owned());
                id.date_of_birth = r.date_of_birth;
                id.expected_date_of_birth = r.expected_date_of_birth;
                id.upns
                    .extend(r.upn.iter().chain(&r.former_upn).map(|u| u.as_str().to_owned()));
                id.nhs_number = r.nhs_number.as_ref().map(|n| n.as_str().to_owned());
                id.family_id = r.family_id.as_ref().map(|f| f.as_str().to_owned());
            }
            EventPayload::ChildDetailsAmended(a) => {
                let set = |slot: &mut Option<String>, value: &Option<crate::domain::ShortText>| {
                    if let Some(v) = value {
                        *slot = Some(v.as_str().to_owned());
                    }
                };
                set(&mut given, &a.given_name);
                set(&mut family, &a.family_name);
                set(&mut preferred, &a.preferred_name);
                id.date_of_birth = a.date_of_birth.or(id.date_of_birth);
                id.expected_date_of_birth = a.expected_date_of_birth.or(id.expected_date_of_birth);
                id.upns
                    .extend(a.upn.iter().chain(&a.former_upn).map(|u| u.as_str().to_owned()));
                if let Some(n) = &a.nhs_number {
                    id.nhs_number = Some(n.as_str().to_owned());
                }
                if let Some(f) = &a.family_id {
                    id.family_id = Some(f.as_str().to_owned());
                }
            }
            _ => {}
        }
    }
    for first in [&given, &preferred].into_iter().flatten() {
        let full = match &family {
            Some(family) => format!("{first} {family}"),
            None => first.clone(),
        };
        id.names.insert(normalise(&full));
    }
    if let (None, None, Some(family)) = (&given, &preferred, &family) {
        id.names.insert(normalise(family));
    }
    id.names.retain(|n| !n.is_empty());
    id
}

/// Lower case, letters only, words separated by one space.
fn normalise(name: &str) -> String {
    name.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why two records may be one child.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum MatchReason {
    SameNhsNumber,
    SameUpn,
    /// The same date of birth (or expected date of birth) and names this alike, in percent.
    SameDateOfBirthSimilarNames {
        name_similarity_percent: u8,
    },
}

impl MatchReason {
    /// An NHS number or a UPN identifies one person.
    pub fn is_strong(&self) -> bool {
        matches!(self, MatchReason::SameNhsNumber | MatchReason::SameUpn)
    }
}

/// Two records that may be one child, for a person to decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The two ids, in order.
    pub first: ChildId,
    pub second: ChildId,
    pub reasons: Vec<MatchReason>,
    /// `strong` (an NHS number or UPN in common) or `possible`.
    pub strength: String,
}

/// Every candidate pair among `identities`: strong ones first, then by ids.
pub fn candidates(identities: &[Identity]) -> Vec<Candidate> {
    let mut found: BTreeMap<(usize, usize), BTreeSet<MatchReason>> = BTreeMap::new();
    let mut note = |a: usize, b: usize, reason: MatchReason| {
        let key = if a < b { (a, b) } else { (b, a) };
        found.entry(key).or_default().insert(reason);
    };
    let groups = |key_of: &dyn Fn(&Identity) -> Vec<String>| {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, id) in identities.iter().enumerate() {
            for key in key_of(id) {
                by_key.entry(key).or_default().push(i);
            }
        }
        let mut groups: Vec<Vec<usize>> = by_key.into_values().filter(|g| g.len() > 1).collect();
        for g in &mut groups {
            g.sort_unstable();
            g.dedup();
        }
        groups
    };
    for group in groups(&|id| id.nhs_number.iter().cloned().collect()) {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                note(a, b, MatchReason::SameNhsNumber);
            }
        }
    }
    for group in groups(&|id| id.upns.iter().cloned().collect()) {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                note(a, b, MatchReason::SameUpn);
            }
        }
    }
    let birth = |id: &Identity| -> Vec<String> {
        id.date_of_birth
            .iter()
            .chain(&id.expected_date_of_birth)
            .map(Date::to_string)
            .collect()
    };
    for group in groups(&birth) {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                let best = identities[a]
                    .names
                    .iter()
                    .flat_map(|n| {
                        identities[b]
                            .names
                            .iter()
                            .map(move |m| strsim::jaro_winkler(n, m))
                    })
                    .fold(0.0_f64, f64::max);
                if best >= SIMILAR_NAMES {
                    note(
                        a,
                        b,
                        MatchReason::SameDateOfBirthSimilarNames {
                            name_similarity_percent: (best * 100.0).floor() as u8,
                        },
                    );
                }
            }
        }
    }
    let mut pairs: Vec<Candidate> = found
        .into_iter()
        .filter_map(|((a, b), reasons)| {
            let (first, second) = (identities[a].child_id.clone()?, identities[b].child_id.clone()?);
            let (first, second) = if first <= second {
                (first, second)
            } else {
                (second, first)
            };
            let reasons: Vec<MatchReason> = reasons.into_iter().collect();
            let strength = if reasons.iter().any(MatchReason::is_strong) {
                "strong"
            } else {
                "possible"
            };
            Some(Candidate {
                first,
                second,
                reasons,
                strength: strength.to_owned(),
            })
        })
        .collect();
    pairs.sort_by(|x, y| {
        (x.strength != "strong", &x.first, &x.second).cmp(&(y.strength != "strong", &y.first, &y.second))
    });
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(child: &str, names: &[&str], born: Option<&str>, upn: Option<&str>, nhs: Option<&str>) -> Identity {
        Identity {
            child_id: Some(ChildId::parse(child).unwrap()),
            names: names.iter().map(|n| normalise(n)).collect(),
            date_of_birth: born.map(|d| d.parse().unwrap()),
            expected_date_of_birth: None,
            upns: upn.iter().map(|u| u.to_string()).collect(),
            nhs_number: nhs.map(str::to_owned),
            family_id: None,
        }
    }

    #[test]
    fn shared_identifiers_and_alike_names_on_one_birthday_are_proposed_and_nothing_else() {
        let ids = [
            id(
                "front-door-1",
                &["Emilia Chapman"],
                Some("2010-08-24"),
                None,
                Some("9997296915"),
            ),
            id("lac-7", &["Emilia  CHAPMEN"], Some("2010-08-24"), None, None),
            id(
                "school-3",
                &["Millie Chapman"],
                Some("2011-01-02"),
                None,
                Some("9997296915"),
            ),
            // Twins: the same birthday, different names.
            id("twin-a", &["Oscar Lindqvist"], Some("2015-05-05"), None, None),
            id("twin-b", &["Freya Lindqvist"], Some("2015-05-05"), None, None),
            id(
                "upn-a",
                &["Sam Okafor"],
                Some("2012-02-02"),
                Some("K331509015190"),
                None,
            ),
            id(
                "upn-b",
                &["Samuel Okafor"],
                Some("2013-03-03"),
                Some("K331509015190"),
                None,
            ),
        ];
        let pairs = candidates(&ids);
        let got: Vec<(&str, &str, &str)> = pairs
            .iter()
            .map(|c| (c.first.as_str(), c.second.as_str(), c.strength.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("front-door-1", "school-3", "strong"),
                ("upn-a", "upn-b", "strong"),
                ("front-door-1", "lac-7", "possible"),
            ]
        );
        assert!(matches!(
            pairs[2].reasons[0],
            MatchReason::SameDateOfBirthSimilarNames { name_similarity_percent } if name_similarity_percent >= 88
        ));
    }
}
