//! Whose personal data an event carries besides the child's.
//!
//! Every payload struct implements [`ThirdPartyData`] (the dispatch in `EventPayload::data_subjects` is an
//! exhaustive match, so a new payload cannot compile without one). People other than the child are held in
//! [`ThirdParty`], [`Referrer`] and [`Professional`] values, which report themselves; a payload's impl only
//! has to name the fields that hold them. The test `every_person_in_every_example_is_a_data_subject` walks
//! the JSON of every example and fails if any object with a `person_id` or `worker_id` is not reported, so
//! an impl that forgets a field is caught.

use serde::Serialize;

use super::lists::Relationship;
use super::values::{AgencyAttendance, PersonAttendance, Placement, Professional, Referrer, ThirdParty};
use crate::time::Date;

/// One person other than the child whose data an event holds, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataSubject {
    /// The sending system's id for the person (`person_id` or `worker_id`), or `None` for data about people
    /// the event does not identify one by one (the adopters' sex and legal status codes).
    pub person_id: Option<String>,
    pub relationship: Relationship,
    /// JSON paths, relative to `data`, of the fields holding this person's data (`referrer.person`,
    /// `agencies[2].professional`). The whole object at each path is theirs.
    pub fields: Vec<String>,
    /// The person's identity must be withheld from the child and family (a referrer who asked for
    /// confidentiality).
    pub confidential: bool,
    /// The person's date of birth, where the event gives one: checked like every date of an event when it
    /// is accepted (`EventPayload::date_problems`, at `fields[0].date_of_birth`). Not part of the listing.
    #[serde(skip)]
    pub date_of_birth: Option<Date>,
}

/// Implemented by every payload struct and by every value that can hold a third party's data.
pub trait ThirdPartyData {
    /// Appends the people whose data `self` holds, with paths under `at` (`""` for the payload itself).
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>);
}

/// `at.field`, or `field` at the top.
pub(crate) fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else {
        format!("{at}.{field}")
    }
}

impl<T: ThirdPartyData> ThirdPartyData for Option<T> {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        if let Some(v) = self {
            v.third_parties(at, out);
        }
    }
}

impl<T: ThirdPartyData> ThirdPartyData for Vec<T> {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        for (i, v) in self.iter().enumerate() {
            v.third_parties(&format!("{at}[{i}]"), out);
        }
    }
}

impl<T: ThirdPartyData + ?Sized> ThirdPartyData for Box<T> {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        (**self).third_parties(at, out);
    }
}

impl ThirdPartyData for ThirdParty {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        out.push(DataSubject {
            person_id: Some(self.person_id.to_string()),
            relationship: self.relationship,
            fields: vec![at.to_owned()],
            confidential: false,
            date_of_birth: self.date_of_birth,
        });
    }
}

impl ThirdPartyData for Referrer {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        let start = out.len();
        self.person.third_parties(&join(at, "person"), out);
        for s in &mut out[start..] {
            s.confidential = self.confidential;
        }
    }
}

impl ThirdPartyData for Professional {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        out.push(DataSubject {
            person_id: Some(self.worker_id.to_string()),
            relationship: Relationship::Professional,
            fields: vec![at.to_owned()],
            confidential: false,
            date_of_birth: None,
        });
    }
}

impl ThirdPartyData for AgencyAttendance {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.professional.third_parties(&join(at, "professional"), out);
    }
}

impl ThirdPartyData for PersonAttendance {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.person.third_parties(&join(at, "person"), out);
    }
}

/// The carers, and the placement's postcode as their address (for a family placement the postcode is
/// where the carers live).
impl ThirdPartyData for Placement {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        let start = out.len();
        self.carers.third_parties(&join(at, "carers"), out);
        if self.postcode.is_some() {
            for s in &mut out[start..] {
                s.fields.push(join(at, "postcode"));
            }
        }
    }
}

/// Declares that the listed payload structs hold no third party's data.
macro_rules! no_third_parties {
    ($($t:ty),+ $(,)?) => {
        $(
            impl $crate::domain::subjects::ThirdPartyData for $t {
                fn third_parties(&self, _at: &str, _out: &mut Vec<$crate::domain::subjects::DataSubject>) {}
            }
        )+
    };
}
pub(crate) use no_third_parties;

/// Merges entries for the same person with the same relationship and confidentiality, keeping first-seen
/// order, so each person appears once with all their fields.
pub(crate) fn merge(subjects: Vec<DataSubject>) -> Vec<DataSubject> {
    let mut out: Vec<DataSubject> = Vec::with_capacity(subjects.len());
    for s in subjects {
        let same = out.iter_mut().find(|o| {
            o.person_id.is_some()
                && o.person_id == s.person_id
                && o.relationship == s.relationship
                && o.confidential == s.confidential
        });
        match same {
            Some(o) => o.fields.extend(s.fields),
            None => out.push(s),
        }
    }
    out
}
