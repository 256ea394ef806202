//! Reading a journey: the child's age and disabilities, spans of service between a start and an end event,
//! the looked-after history with its legal statuses, and the contents most policies read (assessment
//! factors, codes, the event another event names).
//!
//! Everything here reads the events in force (retracted events are skipped) in the order they occurred,
//! and is a convenience over [`EvaluationInput::of_kind`] and [`JourneyEvent::data`]: a policy that needs
//! something else reads the events itself.

use serde::Deserialize;

use crate::{Date, EvaluationInput, JourneyEvent, PolicyError};

/// A span of the journey opened by one event and closed by another: an early help episode, a child in
/// need or child protection plan, a period of care. `end` is `None` while it is still open on the
/// evaluation date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period<'a> {
    pub start: &'a JourneyEvent,
    pub end: Option<&'a JourneyEvent>,
}

impl Period<'_> {
    pub fn starts_on(&self) -> Date {
        self.start.occurred_on
    }

    /// The day it ended (the first day it no longer applied), if it has.
    pub fn ends_on(&self) -> Option<Date> {
        self.end.map(|e| e.occurred_on)
    }

    /// True when it had started by `on` and had not yet ended.
    pub fn is_open_on(&self, on: Date) -> bool {
        self.starts_on() <= on && self.ends_on().is_none_or(|end| end > on)
    }

    /// Whole days of the period that fall in `[from, until)`, counting the period as `[start, end)` and an
    /// open period as running to `until`. Zero when they do not overlap. This is how "looked after for 91
    /// days after the 14th birthday" is counted: nights, from the day it began to the day it ended.
    pub fn days_within(&self, from: Date, until: Date) -> i64 {
        let start = self.starts_on().max(from);
        let end = self.ends_on().map_or(until, |e| e.min(until));
        start.days_until(&end).max(0)
    }

    /// The ids of its start and end events, for a [`crate::Reason`].
    pub fn event_ids(&self) -> Vec<String> {
        let mut ids = vec![self.start.event_id.clone()];
        ids.extend(self.end.map(|e| e.event_id.clone()));
        ids
    }
}

/// Distinct legal statuses of a period of care, from the day each took effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalStatusSpan<'a> {
    /// The SSDA903 legal status code ("C2", "V2", "V3"...).
    pub legal_status: String,
    pub from: Date,
    /// The day the next status took effect or the period ended; `None` while open.
    pub until: Option<Date>,
    /// `BecameLookedAfter` or `LegalStatusChanged`.
    pub event: &'a JourneyEvent,
}

impl LegalStatusSpan<'_> {
    /// Whole days of the span in `[from, until)` (see [`Period::days_within`]).
    pub fn days_within(&self, from: Date, until: Date) -> i64 {
        let start = self.from.max(from);
        let end = self.until.map_or(until, |e| e.min(until));
        start.days_until(&end).max(0)
    }
}

/// The event that opens a period of care found in progress when history was imported (the authority's
/// earliest episode continued a period that began earlier, on a date not recorded).
pub const CARE_FOUND_IN_PROGRESS: &str = "CareInProgressRecorded";

/// One period of care: from `BecameLookedAfter` (or, for a period found in progress, from
/// `CareInProgressRecorded`) to the next `CeasedToBeLookedAfter`, with its legal statuses (SSDA903 episodes
/// by legal status) and placements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarePeriod<'a> {
    pub period: Period<'a>,
    pub legal_statuses: Vec<LegalStatusSpan<'a>>,
    /// `BecameLookedAfter` and every `PlacementChanged` in the period, with the placement type ("U4").
    pub placements: Vec<(&'a JourneyEvent, String)>,
}

impl CarePeriod<'_> {
    /// True when the period was found in progress (`CareInProgressRecorded`): it began before its recorded
    /// start, on a date not recorded, so its days before `period.starts_on()` are unknown and any count of
    /// looked-after days that could include them is a lower bound.
    pub fn start_unknown(&self) -> bool {
        self.period.start.kind == CARE_FOUND_IN_PROGRESS
    }

    /// True when every legal status of the period is one of `short_breaks` ("V3", "V4"): a series of
    /// short breaks (CPPCR 2010 reg 48), which does not count towards care-leaver eligibility.
    pub fn is_short_breaks(&self, short_breaks: &[String]) -> bool {
        self.legal_statuses
            .iter()
            .all(|s| short_breaks.contains(&s.legal_status))
    }

    /// The placement type in force on `on` ("U4"), if the period was open then.
    pub fn placement_on(&self, on: Date) -> Option<&str> {
        if !self.period.is_open_on(on) {
            return None;
        }
        self.placements
            .iter()
            .rev()
            .find(|(e, _)| e.occurred_on <= on)
            .map(|(_, p)| p.as_str())
    }

    /// The reason code the period ended with ("E4A", "E11"), if it has ended.
    pub fn end_reason(&self) -> Option<String> {
        self.period
            .end
            .and_then(|e| e.data::<Coded>().ok())
            .and_then(|c| c.reason)
    }
}

#[derive(Deserialize)]
struct Coded {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Placed {
    #[serde(default)]
    legal_status: Option<String>,
    #[serde(default)]
    placement: Option<Placement>,
}

#[derive(Deserialize)]
struct Placement {
    place_type: String,
}

#[derive(Deserialize)]
struct Registered {
    #[serde(default)]
    disabilities: Option<Vec<String>>,
}

impl EvaluationInput {
    /// The child's date of birth as known (None for an unborn child).
    pub fn date_of_birth(&self) -> Option<Date> {
        self.child.date_of_birth
    }

    /// The child's age in completed years on `on` (a 29 February birthday is 28 February in a common year).
    /// None if the date of birth is unknown or `on` is before it.
    pub fn age_on(&self, on: Date) -> Option<u32> {
        self.date_of_birth()?.age_on(&on)
    }

    /// The child's `n`th birthday, if the date of birth is known.
    pub fn birthday(&self, n: u32) -> Option<Date> {
        Some(self.date_of_birth()?.birthday(n))
    }

    /// The events in force of any of these kinds, in the order they occurred.
    pub fn of_kinds<'a>(&'a self, kinds: &'a [&'a str]) -> impl Iterator<Item = &'a JourneyEvent> + 'a {
        self.in_force().filter(move |e| kinds.contains(&e.kind.as_str()))
    }

    /// The events in force of `kind` that occurred on or after `from` and (if given) before `until`.
    pub fn between<'a>(
        &'a self,
        kind: &'a str,
        from: Date,
        until: Option<Date>,
    ) -> impl Iterator<Item = &'a JourneyEvent> + 'a {
        self.of_kind(kind)
            .filter(move |e| e.occurred_on >= from && until.is_none_or(|u| e.occurred_on < u))
    }

    /// The last event in force of `kind`.
    pub fn last_of_kind(&self, kind: &str) -> Option<&JourneyEvent> {
        self.in_force().filter(|e| e.kind == kind).last()
    }

    /// The spans opened by `start_kind` and closed by `end_kind`: each start is paired with the first end
    /// that follows it (in occurrence order); a start while a span is open is ignored (the span is already
    /// open), and an end with nothing open is ignored.
    pub fn periods<'a>(&'a self, start_kind: &str, end_kind: &str) -> Vec<Period<'a>> {
        self.periods_opened_by(&[start_kind], end_kind)
    }

    /// As [`EvaluationInput::periods`], a span opened by any of `start_kinds`.
    fn periods_opened_by<'a>(&'a self, start_kinds: &[&str], end_kind: &str) -> Vec<Period<'a>> {
        let mut periods: Vec<Period<'a>> = Vec::new();
        for e in self.in_force() {
            let open = periods.last_mut().filter(|p| p.end.is_none());
            if start_kinds.contains(&e.kind.as_str()) && open.is_none() {
                periods.push(Period { start: e, end: None });
            } else if e.kind == end_kind
                && let Some(p) = open
            {
                p.end = Some(e);
            }
        }
        periods
    }

    /// The span of `start_kind`..`end_kind` open on `on`, if any.
    pub fn open_period_on<'a>(&'a self, start_kind: &str, end_kind: &str, on: Date) -> Option<Period<'a>> {
        self.periods(start_kind, end_kind)
            .into_iter()
            .rev()
            .find(|p| p.is_open_on(on))
    }

    /// The child in need episode open on `on`: from the latest referral on or before `on` that was not
    /// closed with no further action, to the first `ChildInNeedEpisodeClosed` after it.
    pub fn child_in_need_episode_on(&self, on: Date) -> Option<Period<'_>> {
        let referral = self
            .of_kind("ReferralReceived")
            .filter(|r| r.occurred_on <= on && r.flag("no_further_action") != Some(true))
            .last()?;
        let after = self.events.iter().position(|e| std::ptr::eq(e, referral))? + 1;
        let end = self.events[after..]
            .iter()
            .find(|e| !e.is_retracted() && e.kind == "ChildInNeedEpisodeClosed");
        let episode = Period { start: referral, end };
        episode.is_open_on(on).then_some(episode)
    }

    /// The child's periods of care that began on a recorded date (`BecameLookedAfter` ..
    /// `CeasedToBeLookedAfter`), each with its legal statuses and placements, in order. A period found in
    /// progress (`CareInProgressRecorded`) is not among them: a policy that can judge a period whose start
    /// is unknown reads [`EvaluationInput::all_care_periods`].
    pub fn care_periods(&self) -> Result<Vec<CarePeriod<'_>>, PolicyError> {
        self.care_periods_opened_by(&["BecameLookedAfter"])
    }

    /// The child's periods of care, including one found in progress when history was imported, whose start
    /// is unknown ([`CarePeriod::start_unknown`]), in order.
    pub fn all_care_periods(&self) -> Result<Vec<CarePeriod<'_>>, PolicyError> {
        self.care_periods_opened_by(&["BecameLookedAfter", CARE_FOUND_IN_PROGRESS])
    }

    fn care_periods_opened_by(&self, start_kinds: &[&str]) -> Result<Vec<CarePeriod<'_>>, PolicyError> {
        let mut out = Vec::new();
        for period in self.periods_opened_by(start_kinds, "CeasedToBeLookedAfter") {
            let until = period.ends_on();
            let mut legal_statuses: Vec<LegalStatusSpan<'_>> = Vec::new();
            let mut placements = Vec::new();
            // The events from the start (in occurrence order) up to the end.
            let first = self
                .events
                .iter()
                .position(|e| std::ptr::eq(e, period.start))
                .unwrap_or_default();
            let inside = self.events[first..]
                .iter()
                .filter(|e| !e.is_retracted())
                .take_while(|e| until.is_none_or(|u| e.occurred_on < u));
            for e in inside {
                let starts_it = std::ptr::eq(e, period.start);
                if !starts_it && !matches!(e.kind.as_str(), "LegalStatusChanged" | "PlacementChanged") {
                    continue;
                }
                let placed: Placed = e.data()?;
                if let Some(status) = placed.legal_status
                    && legal_statuses.last().is_none_or(|s| s.legal_status != status)
                {
                    if let Some(last) = legal_statuses.last_mut() {
                        last.until = Some(e.occurred_on);
                    }
                    legal_statuses.push(LegalStatusSpan {
                        legal_status: status,
                        from: e.occurred_on,
                        until,
                        event: e,
                    });
                }
                if let Some(p) = placed.placement {
                    placements.push((e, p.place_type));
                }
            }
            out.push(CarePeriod {
                period,
                legal_statuses,
                placements,
            });
        }
        Ok(out)
    }

    /// The child's disability codes as last recorded (registration, then any `ChildDetailsAmended` that
    /// lists them), other than `NONE`, with the event that recorded them.
    pub fn disabilities(&self) -> Option<(Vec<String>, &JourneyEvent)> {
        let mut found = None;
        for e in self.of_kinds(&["ChildRegistered", "ChildDetailsAmended"]) {
            if let Ok(Registered {
                disabilities: Some(d),
            }) = e.data::<Registered>()
            {
                found = Some((d.into_iter().filter(|c| c != "NONE").collect(), e));
            }
        }
        found.filter(|(d, _): &(Vec<String>, _)| !d.is_empty())
    }
}

/// One top-level field of a JSON object, read without building the rest (every other value is skipped).
/// `None` when the content is not an object, lacks the field, or holds something else there.
fn top_level<T: serde::de::DeserializeOwned>(content: &str, field: &str) -> Option<T> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;
    use std::marker::PhantomData;

    struct Find<'f, T>(&'f str, PhantomData<T>);

    impl<'de, T: serde::de::DeserializeOwned> Visitor<'de> for Find<'_, T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == self.0 && found.is_none() {
                    found = map.next_value::<Option<T>>().ok().flatten();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }

    let mut de = serde_json::Deserializer::from_str(content);
    de.deserialize_map(Find(field, PhantomData)).ok().flatten()
}

#[derive(Deserialize)]
struct Factors {
    #[serde(default)]
    factors: Vec<String>,
    #[serde(default)]
    concerns: Vec<String>,
}

#[derive(Deserialize)]
struct Names {
    #[serde(default)]
    contact_event_id: Option<String>,
    #[serde(default)]
    conference_event_id: Option<String>,
    #[serde(default)]
    strategy_discussion_event_id: Option<String>,
    #[serde(default)]
    offer_event_id: Option<String>,
}

impl JourneyEvent {
    /// When it happened, for a reason's text: `2024-03-28`, or `2024-03-28 at 15:00` with a time of day.
    pub fn when(&self) -> String {
        match &self.occurred_time {
            Some(t) => format!("{} at {:02}:{:02}", self.occurred_on, t.hour, t.minute),
            None => self.occurred_on.to_string(),
        }
    }

    /// The CIN census assessment factor codes ("3B", "16A") the event records: an assessment's or an early
    /// help assessment's `factors`, a contact's `concerns`. Empty for other kinds.
    pub fn assessment_factors(&self) -> Vec<String> {
        match self.data::<Factors>() {
            Ok(f) if !f.factors.is_empty() => f.factors,
            Ok(f) => f.concerns,
            Err(_) => Vec::new(),
        }
    }

    /// A top-level string field of the content ("outcome", "reason", "kind"), if it is there.
    pub fn code(&self, field: &str) -> Option<String> {
        top_level(&self.content, field)
    }

    /// A top-level boolean field of the content ("seen", "no_further_action"), if it is there.
    pub fn flag(&self, field: &str) -> Option<bool> {
        top_level(&self.content, field)
    }

    /// The id of the event this one names as its origin: a decision's contact, a plan's conference, an
    /// enquiry's strategy discussion, an acceptance's offer.
    pub fn names_event(&self) -> Option<String> {
        let n: Names = self.data().ok()?;
        n.contact_event_id
            .or(n.conference_event_id)
            .or(n.strategy_discussion_event_id)
            .or(n.offer_event_id)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{event, input};
    use serde_json::json;

    use super::*;

    #[test]
    fn periods_pair_starts_with_the_next_end() {
        let i = input(
            "2024-12-31",
            vec![
                event("s1", "EarlyHelpStarted", "2024-01-10", json!({})),
                event("s2", "EarlyHelpStarted", "2024-01-20", json!({})),
                event("e1", "EarlyHelpEnded", "2024-03-01", json!({})),
                event("e2", "EarlyHelpEnded", "2024-03-05", json!({})),
                event("s3", "EarlyHelpStarted", "2024-06-01", json!({})),
            ],
        );
        let p = i.periods("EarlyHelpStarted", "EarlyHelpEnded");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].event_ids(), ["s1", "e1"]);
        assert_eq!(p[1].ends_on(), None);
        assert!(p[1].is_open_on(Date::ymd(2024, 6, 1)));
        assert!(
            !p[0].is_open_on(Date::ymd(2024, 3, 1)),
            "the end day is not in it"
        );
        assert_eq!(p[0].days_within(Date::ymd(2024, 2, 1), Date::ymd(2025, 1, 1)), 29);
        assert_eq!(
            p[1].days_within(Date::ymd(2024, 1, 1), Date::ymd(2024, 6, 11)),
            10
        );
        assert_eq!(
            i.open_period_on("EarlyHelpStarted", "EarlyHelpEnded", Date::ymd(2024, 7, 1))
                .map(|p| p.start.event_id.clone()),
            Some("s3".into())
        );
    }

    #[test]
    fn care_periods_carry_legal_statuses_and_placements() {
        let placed = |ls: &str, pt: &str| json!({"legal_status": ls, "placement": {"place_type": pt}});
        let i = input(
            "2024-12-31",
            vec![
                event("la1", "BecameLookedAfter", "2024-01-10", placed("V2", "U6")),
                event(
                    "ls1",
                    "LegalStatusChanged",
                    "2024-02-10",
                    json!({"legal_status": "C1"}),
                ),
                event(
                    "pc1",
                    "PlacementChanged",
                    "2024-03-10",
                    json!({"placement": {"place_type": "U4"}}),
                ),
                event(
                    "ce1",
                    "CeasedToBeLookedAfter",
                    "2024-04-10",
                    json!({"reason": "E4A"}),
                ),
                event("la2", "BecameLookedAfter", "2024-06-01", placed("V3", "U6")),
            ],
        );
        let periods = i.care_periods().unwrap();
        assert_eq!(periods.len(), 2);
        let first = &periods[0];
        assert_eq!(first.legal_statuses.len(), 2);
        assert_eq!(first.legal_statuses[0].until, Some(Date::ymd(2024, 2, 10)));
        assert_eq!(first.legal_statuses[1].until, Some(Date::ymd(2024, 4, 10)));
        assert_eq!(first.placement_on(Date::ymd(2024, 3, 9)), Some("U6"));
        assert_eq!(first.placement_on(Date::ymd(2024, 3, 10)), Some("U4"));
        assert_eq!(first.placement_on(Date::ymd(2024, 4, 10)), None);
        assert_eq!(first.end_reason().as_deref(), Some("E4A"));
        let short = ["V3".to_string(), "V4".to_string()];
        assert!(!first.is_short_breaks(&short));
        assert!(periods[1].is_short_breaks(&short));
    }

    /// A period found in progress when history was imported opens a period of care whose start is unknown;
    /// only `all_care_periods` reads it, so a policy that cannot judge an unknown start is not misled.
    #[test]
    fn a_period_found_in_progress_is_a_care_period_whose_start_is_unknown() {
        let placed =
            json!({"reason_new_episode": "P", "legal_status": "C2", "placement": {"place_type": "U4"}});
        let i = input(
            "2024-12-31",
            vec![
                event("cip", CARE_FOUND_IN_PROGRESS, "2024-01-10", placed),
                event(
                    "ce1",
                    "CeasedToBeLookedAfter",
                    "2024-04-10",
                    json!({"reason": "E4A"}),
                ),
                event(
                    "la2",
                    "BecameLookedAfter",
                    "2024-06-01",
                    json!({"legal_status": "V2", "placement": {"place_type": "U6"}}),
                ),
            ],
        );
        let all = i.all_care_periods().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].start_unknown() && !all[1].start_unknown());
        assert_eq!(all[0].legal_statuses[0].legal_status, "C2");
        assert_eq!(all[0].placement_on(Date::ymd(2024, 2, 1)), Some("U4"));
        assert_eq!(all[0].end_reason().as_deref(), Some("E4A"));
        let recorded = i.care_periods().unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].period.start.event_id, "la2");
    }

    #[test]
    fn common_contents() {
        let i = input(
            "2024-12-31",
            vec![
                event(
                    "reg",
                    "ChildRegistered",
                    "2024-01-01",
                    json!({"disabilities": ["NONE"]}),
                ),
                event(
                    "c1",
                    "ContactReceived",
                    "2024-02-01",
                    json!({"concerns": ["3B"], "source": "1A"}),
                ),
                event(
                    "a1",
                    "AssessmentCompleted",
                    "2024-03-01",
                    json!({"factors": ["16A", "4B"]}),
                ),
                event(
                    "d1",
                    "ContactDecided",
                    "2024-02-01",
                    json!({"contact_event_id": "c1"}),
                ),
            ],
        );
        assert_eq!(i.disabilities(), None, "NONE is no disability");
        assert_eq!(i.event("c1").unwrap().assessment_factors(), ["3B"]);
        assert_eq!(i.event("a1").unwrap().assessment_factors(), ["16A", "4B"]);
        assert_eq!(i.event("c1").unwrap().code("source").as_deref(), Some("1A"));
        assert_eq!(i.event("c1").unwrap().flag("source"), None);
        assert_eq!(i.event("d1").unwrap().names_event().as_deref(), Some("c1"));
        assert_eq!(
            i.between("ContactReceived", Date::ymd(2024, 2, 2), None).count(),
            0
        );
        assert_eq!(i.of_kinds(&["ContactReceived", "ContactDecided"]).count(), 2);
    }

    #[test]
    fn the_open_child_in_need_episode_skips_referrals_closed_with_no_further_action() {
        let referral = |id: &str, on: &str, nfa: bool| {
            event(id, "ReferralReceived", on, json!({"no_further_action": nfa}))
        };
        let i = input(
            "2024-12-31",
            vec![
                referral("r1", "2024-01-10", false),
                event(
                    "x1",
                    "ChildInNeedEpisodeClosed",
                    "2024-03-01",
                    json!({"reason": "RC8"}),
                ),
                referral("r2", "2024-05-01", true),
                referral("r3", "2024-06-01", false),
            ],
        );
        let at = |d| {
            i.child_in_need_episode_on(Date::parse(d).unwrap())
                .map(|p| p.event_ids())
        };
        assert_eq!(at("2024-02-01"), Some(vec!["r1".to_string(), "x1".to_string()]));
        assert_eq!(at("2024-03-01"), None);
        assert_eq!(
            at("2024-05-15"),
            None,
            "a referral closed with no further action opens nothing"
        );
        assert_eq!(at("2024-06-01"), Some(vec!["r3".to_string()]));
    }
}
