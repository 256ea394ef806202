//! A family chronology: several children's chronologies as one, in valid-time order, each entry saying which
//! child it is about (issue #21: the multi-agency chronology a review panel builds by hand).

use serde::{Deserialize, Serialize};

use crate::domain::Stage;
use crate::ids::{AgencyId, ChildId};
use crate::view::{Chronology, ChronologyEntry};

/// Which entries a family chronology keeps (all, by default).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyFilter {
    pub agency: Option<AgencyId>,
    pub stage: Option<Stage>,
    pub child: Option<ChildId>,
}

impl FamilyFilter {
    fn keeps(&self, child: &ChildId, entry: &ChronologyEntry<'_>) -> bool {
        self.agency.as_ref().is_none_or(|a| &entry.source.agency == a)
            && self.stage.is_none_or(|s| entry.stage == s)
            && self.child.as_ref().is_none_or(|c| c == child)
    }
}

/// One entry of a family chronology: a child's chronology entry, with the child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyEntry<'a> {
    pub child_id: ChildId,
    #[serde(flatten)]
    pub entry: ChronologyEntry<'a>,
}

/// The children's chronologies as one, kept by `filter`: by the date each thing happened, then its time
/// where it has one, then the order Journey was told, then the child, so the order is total and repeatable.
pub fn family_chronology<'a>(
    chronologies: Vec<(ChildId, Chronology<'a>)>,
    filter: &FamilyFilter,
) -> Vec<FamilyEntry<'a>> {
    let mut entries: Vec<FamilyEntry<'a>> = chronologies
        .into_iter()
        .flat_map(|(child_id, chronology)| {
            chronology.entries.into_iter().map(move |entry| FamilyEntry {
                child_id: child_id.clone(),
                entry,
            })
        })
        .filter(|e| filter.keeps(&e.child_id, &e.entry))
        .collect();
    entries.sort_by(|a, b| {
        (
            a.entry.occurred_at.date(),
            a.entry.occurred_at,
            a.entry.recorded_at,
            &a.child_id,
            a.entry.version,
        )
            .cmp(&(
                b.entry.occurred_at.date(),
                b.entry.occurred_at,
                b.entry.recorded_at,
                &b.child_id,
                b.entry.version,
            ))
    });
    entries
}
