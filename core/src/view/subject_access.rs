//! A subject access bundle (UK GDPR Art. 15): a person's story as the record tells it, redacted by rule.
//!
//! `shared/domain/rules.md` §8: a care leaver's request is answered with their journey, in order, in plain
//! words, with every redaction listed and reasoned. This module is the pure part: from one or more child
//! streams and the request's settings it builds the narrative and the schedule of redactions. Who may ask,
//! the request's deadlines and the reviewer's decisions are the API's (`journey_api::subject_access`).
//!
//! What is withheld, and under which rule (Data Protection Act 2018):
//! - **A confidential referrer, always** (Sch. 2 Pt 3 para 16): the whole object that holds them, and their
//!   name, contact details and id wherever they appear in free text elsewhere in the bundle.
//! - **Other people** (parents, siblings, carers, adopters: Sch. 2 Pt 3 para 16), unless the request
//!   records their consent or that disclosure is reasonable ([`Disclosure::persons`]).
//! - **Professionals acting in their role** are disclosed, unless the request says otherwise.
//! - **Serious harm** (Sch. 3 Pt 3, social work data): a whole entry, only when a reviewer decided so for
//!   that entry ([`Withholding`]); never automatic.
//! - **For a request about a person other than the child**, the child's own information is a third party's
//!   (the person sees the fields that hold their own data) unless the request allows it.
//!
//! A redacted person's name is also removed from every free-text field of the bundle, matched as whole
//! words without regard to case: the full name and each part of it, except the parts the subject shares
//! (a parent's family name that is also the child's). Over-redaction of a word is the safe failure; the
//! schedule lists each one so that a data protection officer can check it.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::domain::lists::Relationship;
use crate::domain::{DataSubject, EventKind, EventPayload, Stage};
use crate::envelope::RecordedEvent;
use crate::ids::{AgencyId, ChildId, EventId, PrincipalId, SystemId};
use crate::time::{OccurredAt, Timestamp};
use crate::view::{AsOf, Chronology, ChronologyEntry, ChronologyOptions, EventStatus};

/// What a withheld value is replaced by, in the details and in free text.
pub const WITHHELD: &str = "[withheld]";

/// Whose data the request is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccessSubject {
    /// The child or young person whose record it is (a care leaver, decades later).
    Child { child_id: ChildId },
    /// Another person whose data the record carries (a parent), by the sending system's person id.
    Person { person_id: String },
}

/// What the request allows to be disclosed beyond the subject's own data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// People (by person id) who consented, or whose disclosure the officer judged reasonable. A
    /// confidential referrer is withheld even if listed here.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub persons: BTreeSet<String>,
    /// Withhold professionals too (normally disclosed: staff acting in a professional capacity).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withhold_professionals: bool,
    /// For a request about a person: disclose the child's own information too (a parent with parental
    /// responsibility, where the officer judged it in the child's interests).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub child_information: bool,
}

/// A reviewer's decision to withhold one entry for serious harm (Sch. 3 Pt 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withholding {
    pub event_id: EventId,
    /// The reviewer's reason, for the data protection officer's schedule; never in the released bundle.
    pub reason: String,
}

/// The rule a redaction applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionRule {
    /// A referrer who asked that their identity be withheld from the child and family.
    ConfidentialReferrer,
    /// Information identifying another person, who has not consented.
    ThirdParty,
    /// A professional, withheld because the request asked for it.
    Professional,
    /// A name of a withheld person in free text.
    NameInFreeText,
    /// A whole entry, withheld by a reviewer's decision.
    SeriousHarm,
}

impl RedactionRule {
    /// The provision and the rule as it is applied, in words a data protection officer checks.
    pub fn citation(self) -> &'static str {
        match self {
            RedactionRule::ConfidentialReferrer => {
                "DPA 2018 Sch. 2 Pt 3 para 16: the identity of a referrer who asked for confidentiality is never disclosed"
            }
            RedactionRule::ThirdParty => {
                "DPA 2018 Sch. 2 Pt 3 para 16: information identifying another person, who has not consented and whose disclosure was not judged reasonable"
            }
            RedactionRule::Professional => {
                "DPA 2018 Sch. 2 Pt 3 para 16: a professional's identity, withheld at the request's direction"
            }
            RedactionRule::NameInFreeText => {
                "DPA 2018 Sch. 2 Pt 3 para 16: the name or contact details of a withheld person, in free text"
            }
            RedactionRule::SeriousHarm => {
                "DPA 2018 Sch. 3 Pt 3: social work data whose disclosure would be likely to cause serious harm (a reviewer's decision)"
            }
        }
    }
}

/// One line of an entry's details: a field in words and its value as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub field: String,
    pub value: String,
}

/// One entry of the narrative: an event as the subject may read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrativeEntry {
    pub event_id: EventId,
    /// The child's record the entry is from.
    pub child_id: ChildId,
    pub occurred_at: OccurredAt,
    pub recorded_at: Timestamp,
    /// Who recorded it: the sending system's key, its agency and its system.
    pub recorded_by: PrincipalId,
    pub agency: AgencyId,
    pub system: SystemId,
    pub stage: Stage,
    pub kind: EventKind,
    /// What happened, in plain words (the chronology's line; DfE codes with their meaning).
    pub summary: String,
    /// Corrections, retractions and restrictions of the entry, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The record's content, field by field, after redaction.
    pub details: Vec<Detail>,
    /// The entry was withheld whole (serious harm): no summary or details.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// One redaction, as the schedule lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub event_id: EventId,
    /// The field withheld, in the entry's terms (`referrer person`, `summary`, `the whole entry`).
    pub field: String,
    pub rule: RedactionRule,
    /// The provision and the rule, in words.
    pub citation: String,
    /// Whose data it was (person id and relationship), and the reviewer's reason for a withholding: for
    /// the data protection officer only; [`Bundle::for_release`] removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<RedactionNote>,
}

/// What the data protection officer sees of a redaction and the subject does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionNote {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Relationship>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The narrative and its schedule of redactions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// In the order things happened (occurred date, then the order recorded).
    pub entries: Vec<NarrativeEntry>,
    pub redactions: Vec<Redaction>,
}

impl Bundle {
    /// The bundle as it is released to the subject: the schedule keeps each redaction's field, rule and
    /// provision, without whose data it was or the reviewer's reasons.
    pub fn for_release(mut self) -> Bundle {
        for r in &mut self.redactions {
            r.internal = None;
        }
        self
    }
}

/// The records of one child, as read for the bundle (every record known now).
#[derive(Clone, Copy, Debug)]
pub struct ChildRecords<'a> {
    pub child_id: &'a ChildId,
    pub events: &'a [RecordedEvent],
}

/// Builds the bundle for `subject` from the records of the children it covers, as known at `as_of`.
///
/// For a child, the records are the child's own; for a person, every entry carrying the person's data is
/// taken from each child's records (the caller passes the children to look in).
pub fn bundle(
    subject: &AccessSubject,
    disclosure: &Disclosure,
    withholdings: &[Withholding],
    records: &[ChildRecords<'_>],
    as_of: AsOf,
) -> Bundle {
    let options = ChronologyOptions {
        include_after_on: true,
        include_retracted: true,
        include_amendments: false,
        ..ChronologyOptions::default()
    };
    let chronologies: Vec<Chronology<'_>> = records
        .iter()
        .map(|r| Chronology::build(r.events, as_of, options))
        .collect();
    let judge = Judge::new(subject, disclosure, records);
    let withheld: BTreeMap<&EventId, &str> = withholdings
        .iter()
        .map(|w| (&w.event_id, w.reason.as_str()))
        .collect();

    let mut entries: Vec<(&ChronologyEntry<'_>, &ChildId)> = Vec::new();
    for (chronology, child) in chronologies.iter().zip(records) {
        for entry in &chronology.entries {
            if judge.covers(entry) {
                entries.push((entry, child.child_id));
            }
        }
    }
    // One narrative across the children: by the day it happened, then the order Journey was told.
    entries.sort_by(|(a, _), (b, _)| {
        (a.occurred_at.date(), a.recorded_at, a.position).cmp(&(
            b.occurred_at.date(),
            b.recorded_at,
            b.position,
        ))
    });

    let mut bundle = Bundle::default();
    for (entry, child_id) in entries {
        let narrative = match withheld.get(&entry.event_id) {
            Some(reason) => {
                bundle.redactions.push(Redaction {
                    event_id: entry.event_id.clone(),
                    field: "the whole entry".to_owned(),
                    rule: RedactionRule::SeriousHarm,
                    citation: RedactionRule::SeriousHarm.citation().to_owned(),
                    internal: Some(RedactionNote {
                        person_id: None,
                        relationship: None,
                        reason: Some((*reason).to_owned()),
                    }),
                });
                NarrativeEntry {
                    summary: WITHHELD.to_owned(),
                    details: Vec::new(),
                    notes: Vec::new(),
                    withheld: true,
                    ..frame(entry, child_id)
                }
            }
            None => judge.narrate(entry, child_id, &mut bundle.redactions),
        };
        bundle.entries.push(narrative);
    }
    bundle
}

/// An entry's place and provenance, with nothing of its content.
fn frame(entry: &ChronologyEntry<'_>, child_id: &ChildId) -> NarrativeEntry {
    NarrativeEntry {
        event_id: entry.event_id.clone(),
        child_id: child_id.clone(),
        occurred_at: entry.occurred_at,
        recorded_at: entry.recorded_at,
        recorded_by: entry.recorded_by.clone(),
        agency: entry.source.agency.clone(),
        system: entry.source.system.clone(),
        stage: entry.stage,
        kind: entry.kind,
        summary: String::new(),
        notes: Vec::new(),
        details: Vec::new(),
        withheld: false,
    }
}

/// How one person's data in an entry is treated.
enum Verdict {
    Disclose,
    Withhold(RedactionRule),
}

/// The request's rules, with what they need from the whole bundle: the names to find in free text.
struct Judge<'r> {
    subject: &'r AccessSubject,
    disclosure: &'r Disclosure,
    /// Every withheld person's names, contact details and ids, as one case-insensitive whole-word pattern.
    free_text: Option<Regex>,
}

impl<'r> Judge<'r> {
    fn new(
        subject: &'r AccessSubject,
        disclosure: &'r Disclosure,
        records: &[ChildRecords<'_>],
    ) -> Judge<'r> {
        let mut judge = Judge {
            subject,
            disclosure,
            free_text: None,
        };
        let mut own_words: BTreeSet<String> = BTreeSet::new();
        let mut withheld_words: BTreeSet<String> = BTreeSet::new();
        for record in records {
            for event in record.events {
                if matches!(subject, AccessSubject::Child { .. }) {
                    own_names(&event.payload, &mut own_words);
                }
                let Ok(data) = serde_json::to_value(&event.payload) else {
                    continue;
                };
                let data = &data["data"];
                for person in event.payload.data_subjects() {
                    let own = judge.is_subject(&person);
                    let words = if own { &mut own_words } else { &mut withheld_words };
                    if !own && matches!(judge.verdict(&person), Verdict::Disclose) {
                        continue;
                    }
                    if let Some(id) = &person.person_id {
                        words.insert(id.to_lowercase());
                    }
                    for path in &person.fields {
                        if let Some(object) = at_path(data, path) {
                            identifying_words(object, words);
                        }
                    }
                }
            }
        }
        // A word the subject's own name shares (a family name) stays; the full withheld names still go.
        let words: Vec<String> = withheld_words
            .into_iter()
            .filter(|w| !own_words.contains(w))
            .map(|w| regex::escape(&w))
            .collect();
        if !words.is_empty() {
            // Longest first, so that a full name is replaced whole rather than word by word.
            let mut words = words;
            words.sort_by_key(|w| std::cmp::Reverse(w.len()));
            let pattern = format!(r"(?i)\b(?:{})\b", words.join("|"));
            judge.free_text = Regex::new(&pattern).ok();
        }
        judge
    }

    fn is_subject(&self, person: &DataSubject) -> bool {
        match self.subject {
            AccessSubject::Person { person_id } => person.person_id.as_deref() == Some(person_id.as_str()),
            AccessSubject::Child { .. } => false,
        }
    }

    fn verdict(&self, person: &DataSubject) -> Verdict {
        if person.confidential {
            return Verdict::Withhold(RedactionRule::ConfidentialReferrer);
        }
        if self.is_subject(person) {
            return Verdict::Disclose;
        }
        if person.relationship == Relationship::Professional {
            return if self.disclosure.withhold_professionals {
                Verdict::Withhold(RedactionRule::Professional)
            } else {
                Verdict::Disclose
            };
        }
        match &person.person_id {
            Some(id) if self.disclosure.persons.contains(id) => Verdict::Disclose,
            _ => Verdict::Withhold(RedactionRule::ThirdParty),
        }
    }

    /// Whether the entry belongs in the bundle: every entry of the child's own record; for a person,
    /// the entries that carry their data.
    fn covers(&self, entry: &ChronologyEntry<'_>) -> bool {
        match self.subject {
            AccessSubject::Child { .. } => true,
            AccessSubject::Person { .. } => {
                let carries =
                    |payload: &EventPayload| payload.data_subjects().iter().any(|p| self.is_subject(p));
                carries(&entry.payload) || entry.original_payload.as_deref().is_some_and(carries)
            }
        }
    }

    fn narrate(
        &self,
        entry: &ChronologyEntry<'_>,
        child_id: &ChildId,
        redactions: &mut Vec<Redaction>,
    ) -> NarrativeEntry {
        let mut narrative = frame(entry, child_id);
        let child_withheld =
            matches!(self.subject, AccessSubject::Person { .. }) && !self.disclosure.child_information;
        let mut redact = |field: String, rule: RedactionRule, person: Option<&DataSubject>| {
            redactions.push(Redaction {
                event_id: entry.event_id.clone(),
                field,
                rule,
                citation: rule.citation().to_owned(),
                internal: person.map(|p| RedactionNote {
                    person_id: p.person_id.clone(),
                    relationship: Some(p.relationship),
                    reason: None,
                }),
            });
        };
        if child_withheld {
            narrative.summary = WITHHELD.to_owned();
            redact(
                "summary: the child's information".to_owned(),
                RedactionRule::ThirdParty,
                None,
            );
        } else {
            let (summary, changed) = self.scrub(&entry.summary);
            narrative.summary = summary;
            if changed {
                redact("summary".to_owned(), RedactionRule::NameInFreeText, None);
            }
        }
        narrative.notes = notes(entry);

        let mut data = serde_json::to_value(entry.payload.as_ref())
            .map(|mut v| v["data"].take())
            .unwrap_or_default();
        let subjects = entry.payload.data_subjects();
        let mut own_paths: Vec<&str> = Vec::new();
        for person in &subjects {
            match self.verdict(person) {
                Verdict::Disclose => own_paths.extend(person.fields.iter().map(String::as_str)),
                Verdict::Withhold(rule) => {
                    for path in &person.fields {
                        if let Some(slot) = at_path_mut(&mut data, path) {
                            *slot = serde_json::Value::String(WITHHELD.to_owned());
                        }
                        redact(words_of_path(path), rule, Some(person));
                    }
                }
            }
        }
        let mut details = Vec::new();
        flatten(&data, "", &mut details);
        if child_withheld {
            // Only the fields holding the subject's own data (or a disclosed person's) remain.
            let before = details.len();
            details.retain(|d: &(String, String)| {
                own_paths.iter().any(|p| {
                    d.0 == *p || d.0.starts_with(&format!("{p}.")) || d.0.starts_with(&format!("{p}["))
                }) || d.1 == WITHHELD
            });
            if details.len() < before {
                redact(
                    "details: the child's information".to_owned(),
                    RedactionRule::ThirdParty,
                    None,
                );
            }
        }
        for (path, value) in details {
            let (value, changed) = if value == WITHHELD {
                (value, false)
            } else {
                self.scrub(&code_in_words(&path, &value).unwrap_or(value))
            };
            if changed {
                redact(words_of_path(&path), RedactionRule::NameInFreeText, None);
            }
            narrative.details.push(Detail {
                field: words_of_path(&path),
                value,
            });
        }
        narrative
    }

    /// Free text with every withheld person's names and details replaced, and whether anything was.
    fn scrub(&self, text: &str) -> (String, bool) {
        match &self.free_text {
            Some(pattern) if pattern.is_match(text) => {
                (pattern.replace_all(text, WITHHELD).into_owned(), true)
            }
            _ => (text.to_owned(), false),
        }
    }
}

/// A DfE code with its meaning (`U4 (Foster placement with other foster carer(s): long-term fostering)`), for
/// the fields whose name says which list they hold; `None` for any other field, or a value not on its list.
fn code_in_words(path: &str, value: &str) -> Option<String> {
    use crate::codes::*;
    fn words<C: CodeList>(value: &str) -> Option<String> {
        C::parse(value)
            .ok()
            .map(|c| format!("{} ({})", c.code(), c.description()))
    }
    // The last field of the path, without a list index: `placement.place_type`, `factors[2]`.
    let field = path.rsplit('.').next().unwrap_or(path);
    let field = field.split('[').next().unwrap_or(field);
    match field {
        "sex" => words::<Sex>(value),
        "ethnicity" => words::<Ethnicity>(value),
        "legal_status" => words::<LegalStatus>(value),
        "place_type" => words::<PlacementType>(value),
        "provider" => words::<PlacementProvider>(value),
        "reason_new_episode" => words::<ReasonNewEpisode>(value),
        "category_of_need" => words::<CategoryOfNeed>(value),
        "primary_need" => words::<PrimaryNeed>(value),
        "source" => words::<ReferralSource>(value),
        "concerns" | "factors" => words::<AssessmentFactor>(value),
        "category" => words::<AbuseCategory>(value),
        "upn_unknown_reason" => words::<UpnUnknownReason>(value),
        "disabilities" => words::<Disability>(value),
        "participation" => words::<ReviewParticipation>(value),
        _ => None,
    }
}

/// The subject's own names, from the child's registration and amendments.
fn own_names(payload: &EventPayload, out: &mut BTreeSet<String>) {
    let names: Vec<Option<&str>> = match payload {
        EventPayload::ChildRegistered(r) => vec![
            r.given_name.as_ref().map(|t| t.as_str()),
            r.family_name.as_ref().map(|t| t.as_str()),
            r.preferred_name.as_ref().map(|t| t.as_str()),
        ],
        EventPayload::ChildDetailsAmended(a) => vec![
            a.given_name.as_ref().map(|t| t.as_str()),
            a.family_name.as_ref().map(|t| t.as_str()),
            a.preferred_name.as_ref().map(|t| t.as_str()),
        ],
        _ => Vec::new(),
    };
    for name in names.into_iter().flatten() {
        name_words(name, out);
    }
}

/// A name, and each word of it of two letters or more, in lower case.
fn name_words(name: &str, out: &mut BTreeSet<String>) {
    let name = name.trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
        out.insert(name.to_lowercase());
    }
    for word in name.split(|c: char| c.is_whitespace() || c == '-' || c == ',') {
        if word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
            out.insert(word.to_lowercase());
        }
    }
}

/// The words that identify a withheld person in free text: their names and their contact details.
fn identifying_words(object: &serde_json::Value, out: &mut BTreeSet<String>) {
    match object {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("name", serde_json::Value::String(name)) => name_words(name, out),
                    ("contact_details", serde_json::Value::String(details)) if !details.trim().is_empty() => {
                        out.insert(details.trim().to_lowercase());
                    }
                    _ => identifying_words(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| identifying_words(v, out)),
        _ => {}
    }
}

/// Corrections, retractions and restrictions of an entry, in words.
fn notes(entry: &ChronologyEntry<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    match &entry.status {
        EventStatus::Current => {}
        EventStatus::Corrected { corrected_at, .. } => notes.push(format!(
            "Corrected on {}; this is the corrected version.",
            corrected_at.england_date()
        )),
        EventStatus::Retracted { retracted_at, .. } => notes.push(format!(
            "Withdrawn on {}: recorded, then found to be wrong; kept, and not relied on.",
            retracted_at.england_date()
        )),
    }
    if let Some(original) = entry.originally_occurred_at {
        notes.push(format!("First recorded as happening on {original}."));
    }
    if entry.restriction.is_some() {
        notes.push(
            "Its use is restricted while its accuracy or use is disputed (UK GDPR Art. 18).".to_owned(),
        );
    }
    notes
}

/// `referrer.person.name` → `referrer person name`; `agencies[2].professional` → `agencies 3 professional`.
fn words_of_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut index = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                index.clear();
            }
            ']' => {
                in_index = false;
                let n: usize = index.parse().unwrap_or(0);
                out.push_str(&format!(" {}", n + 1));
            }
            _ if in_index => index.push(c),
            '.' | '_' => out.push(' '),
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// Every scalar of `value` with its path (`referrer.person.name`, `factors[1]`), as text.
fn flatten(value: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                flatten(v, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, &format!("{at}[{i}]"), out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((at.to_owned(), s.clone())),
        serde_json::Value::Bool(b) => out.push((at.to_owned(), if *b { "yes" } else { "no" }.to_owned())),
        serde_json::Value::Number(n) => out.push((at.to_owned(), n.to_string())),
    }
}

/// One step of a data subject's path: a field, or an index into a list.
fn steps(path: &str) -> impl Iterator<Item = Result<&str, usize>> {
    path.split('.').filter(|s| !s.is_empty()).flat_map(|part| {
        let (field, rest) = part.split_once('[').unwrap_or((part, ""));
        let indices = rest
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| Err(s.trim_end_matches(']').parse().unwrap_or(usize::MAX)));
        std::iter::once(Ok(field)).filter(|f| f != &Ok("")).chain(indices)
    })
}

fn at_path<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    steps(path).try_fold(value, |v, step| match step {
        Ok(field) => v.get(field),
        Err(i) => v.get(i),
    })
}

fn at_path_mut<'v>(value: &'v mut serde_json::Value, path: &str) -> Option<&'v mut serde_json::Value> {
    steps(path).try_fold(value, |v, step| match step {
        Ok(field) => v.get_mut(field),
        Err(i) => v.get_mut(i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_fields_and_list_items() {
        let v = serde_json::json!({"referrer": {"person": {"name": "A"}}, "agencies": [{}, {"professional": {"name": "B"}}]});
        assert_eq!(at_path(&v, "referrer.person").unwrap()["name"], "A");
        assert_eq!(at_path(&v, "agencies[1].professional").unwrap()["name"], "B");
        assert!(at_path(&v, "agencies[2].professional").is_none());
        assert_eq!(
            words_of_path("agencies[1].professional.worker_id"),
            "agencies 2 professional worker id"
        );
    }

    #[test]
    fn a_name_gives_itself_and_its_words() {
        let mut words = BTreeSet::new();
        name_words("Mary-Jane O Connor", &mut words);
        assert!(words.contains("mary-jane o connor"));
        assert!(words.contains("mary") && words.contains("jane") && words.contains("connor"));
        assert!(!words.contains("o"), "a single letter would redact every 'O'");
    }
}
