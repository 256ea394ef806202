//! The SSDA903 return of a collection year, built from the log as it stood at a known-at instant.
//!
//! Who is in which table (as the DfE guide and validator define them):
//! * **Episodes**: every episode open on some day of the year (`DECOM` on or before 31 March, `DEC` empty
//!   or on or after 1 April); a `DEC` after 31 March is not yet known to the year and is left empty.
//! * **Header**: every child in any other table of the year.
//! * **Reviews**: those held in the year, for children in Episodes; **Missing**: episodes open on some day of
//!   the year (one that began before 1 April ends in this year's return).
//! * **UASC**: children in Episodes who were ever unaccompanied asylum seekers, with the date the status
//!   ceased (`DUC`) if it had by 31 March.
//! * **OC2**: children looked after continuously for at least 12 months at 31 March (the validator's
//!   `CONTINUOUSLY_LOOKED_AFTER`: no period started after 1 April, none ended before 31 March, no short
//!   breaks in the year), with their health, offending and substance misuse in the year.
//! * **OC3**: care leavers (looked after at least 13 weeks from their 14th birthday and at least a day
//!   after the 16th, not looked after now) whose 17th to 21st birthday falls in the year; in touch, activity
//!   and accommodation from the contact nearest the birthday within 3 months before to 1 month after.
//! * **AD1**: children adopted in the year (episode ended E11 or E12).
//! * **PlacedAdoption**: children in Episodes with a decision that they should be placed for adoption on or
//!   before 31 March not reversed before 1 April (`DATE_PLACED` is the decision, as the DfE guide defines it;
//!   `DATE_PLACED_CEASED` the reversal).
//! * **PrevPerm**: children who started to be looked after in the year.
//! * **SWEpisodes** (from 2023/24): social worker allocations overlapping the year, for children in
//!   Episodes.

use std::collections::BTreeMap;

use journey_core::codes::{
    CollectionYear, PlacementType, ReasonEpisodeCeased, ReasonNewEpisode, ReasonPlacedCeased, Sex,
};
use journey_core::domain::lists::SubstanceMisuseIntervention;
use journey_core::envelope::RecordedEvent;
use journey_core::error::Result;
use journey_core::ids::{ChildId, Position};
use journey_core::store::EventStore;
use journey_core::time::{Date, Timestamp};

use super::facts::{ChildFacts, Episode};
use super::tables::{TableKind, Tables, format_date};

/// How many records to read from the log at a time.
const BATCH: usize = 10_000;

/// Every child's stream, as known at `known_at` (a prefix of the log), in child id order.
pub async fn streams_known_at(
    store: &dyn EventStore,
    known_at: Timestamp,
) -> Result<BTreeMap<ChildId, Vec<RecordedEvent>>> {
    let mut streams: BTreeMap<ChildId, Vec<RecordedEvent>> = BTreeMap::new();
    let mut from = Position::FIRST;
    'read: loop {
        let batch = store.read_all(from, BATCH).await?;
        let Some(last) = batch.last() else { break };
        from = last.envelope.position.next();
        let done = batch.len() < BATCH;
        for e in batch {
            if e.envelope.recorded_at > known_at {
                break 'read;
            }
            streams.entry(e.envelope.child_id.clone()).or_default().push(e);
        }
        if done {
            break;
        }
    }
    Ok(streams)
}

/// The SSDA903 return for `year` from every child in `store`, as the record stood at `known_at`.
pub async fn export(store: &dyn EventStore, year: CollectionYear, known_at: Timestamp) -> Result<Tables> {
    let streams = streams_known_at(store, known_at).await?;
    let facts = streams
        .values()
        .map(|events| ChildFacts::from_stream(events, known_at));
    Ok(tables_from_facts(year, facts))
}

/// The return for `year` from children's facts (see the module documentation for who is in which table).
pub fn tables_from_facts(year: CollectionYear, children: impl IntoIterator<Item = ChildFacts>) -> Tables {
    let mut out = Tables::empty(year);
    for child in children {
        add_child(&mut out, year, &child);
    }
    out.sort();
    out
}

fn d(date: Date) -> String {
    format_date(date)
}

fn od(date: Option<Date>) -> String {
    date.map(format_date).unwrap_or_default()
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

fn push(out: &mut Tables, kind: TableKind, row: Vec<String>) {
    debug_assert_eq!(row.len(), kind.columns().len(), "{kind}");
    if let Some(t) = out.tables.get_mut(&kind) {
        t.rows.push(row);
    }
}

fn add_child(out: &mut Tables, year: CollectionYear, c: &ChildFacts) {
    let (Some(id), Some(dob), Some(sex)) = (&c.child_id, c.date_of_birth, c.sex) else {
        return;
    };
    let start = year.start_date();
    let end = year.end_date();
    let child = id.as_str().to_string();
    let dob_s = d(dob);

    let episodes: Vec<&Episode> = c
        .episodes
        .iter()
        .filter(|e| e.start <= end && e.end.is_none_or(|x| x >= start))
        .collect();
    let looked_after_in_year = !episodes.is_empty();
    let mut in_header = looked_after_in_year;

    for e in &episodes {
        let (dec, rec) = match e.end {
            Some(x) if x <= end => (
                d(x),
                e.reason_ceased.map(|r| r.code().to_string()).unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        push(
            out,
            TableKind::Episodes,
            vec![
                child.clone(),
                d(e.start),
                e.reason_new.code().to_string(),
                e.legal_status.code().to_string(),
                e.category_of_need.code().to_string(),
                e.place.code().to_string(),
                e.provider.map(|p| p.code().to_string()).unwrap_or_default(),
                dec,
                rec,
                e.reason_place_change
                    .map(|r| r.code().to_string())
                    .unwrap_or_default(),
                e.home_postcode
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                e.placement_postcode
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                // Semi-independent living (H5) needed Ofsted registration only from 28 October 2023: no URN
                // in returns before 2023/24 (validator rule 222), nor for an H5 episode that ended before
                // then (so that the years agree, rule 503F); required after (rule 230).
                e.urn
                    .as_ref()
                    .filter(|_| !(e.place == PlacementType::H5 && h5_unregistered(year, e.end)))
                    .map(|u| u.as_str().to_string())
                    .unwrap_or_default(),
            ],
        );
    }

    if looked_after_in_year {
        for (on, participation) in c.reviews.iter().filter(|(on, _)| year.contains(*on)) {
            push(
                out,
                TableKind::Reviews,
                vec![
                    child.clone(),
                    dob_s.clone(),
                    d(*on),
                    participation.code().to_string(),
                ],
            );
        }
        // Missing episodes open on some day of the year: one that began before 1 April ends in this year's
        // return.
        for m in c
            .missing
            .iter()
            .filter(|m| m.start <= end && m.end.is_none_or(|x| x >= start))
        {
            push(
                out,
                TableKind::Missing,
                vec![
                    child.clone(),
                    dob_s.clone(),
                    m.kind.code().to_string(),
                    d(m.start),
                    od(m.end.filter(|x| *x <= end)),
                ],
            );
        }
        // DUC: the date the status ceased or ceases: the 18th birthday unless recorded otherwise
        // (validator rule 205B compares it across years).
        if let Some((since, ceased)) = c.uasc
            && since <= end
        {
            let ceases = ceased.unwrap_or_else(|| dob.add_years(18));
            push(
                out,
                TableKind::Uasc,
                vec![
                    child.clone(),
                    sex.ssda903_code(year).to_string(),
                    dob_s.clone(),
                    d(ceases),
                ],
            );
        }
        if continuously_looked_after(&c.episodes, year) {
            push(out, TableKind::Oc2, oc2_row(c, year, &child, dob, &dob_s));
        }
        placed_for_adoption(out, c, year, &child, &dob_s);
        // Started to be looked after in the year: previous permanence.
        for e in episodes
            .iter()
            .filter(|e| e.reason_new == ReasonNewEpisode::S && year.contains(e.start))
        {
            let pp = c
                .previous_permanence
                .iter()
                .rev()
                .find(|p| p.on <= e.start.add_days(31) && p.on >= e.start.add_days(-366));
            let (code, la, date) = match pp {
                Some(p) => (
                    p.previous.code().to_string(),
                    p.local_authority
                        .as_ref()
                        .map(|l| l.as_str().to_string())
                        .unwrap_or_default(),
                    p.order_date.as_ref().map(partial_date_903).unwrap_or_default(),
                ),
                // Nothing recorded: the DfE code for "unknown".
                None => ("P4".to_string(), String::new(), String::new()),
            };
            push(
                out,
                TableKind::PrevPerm,
                vec![child.clone(), dob_s.clone(), code, la, date],
            );
        }
        if TableKind::SwEpisodes.in_year(year) {
            for (from, until, s) in social_worker_episodes(c, year) {
                push(
                    out,
                    TableKind::SwEpisodes,
                    vec![
                        child.clone(),
                        dob_s.clone(),
                        s.worker.as_str().to_string(),
                        d(from),
                        od(until.filter(|x| *x <= end)),
                        s.reason.map(|r| r.code().to_string()).unwrap_or_default(),
                    ],
                );
            }
        }
    }

    // Adopted in the year.
    if let Some(adopted) = c
        .episodes
        .iter()
        .find(|e| e.end.is_some_and(|x| year.contains(x)) && e.reason_ceased.is_some_and(|r| r.is_adoption()))
    {
        let on = adopted.end.unwrap_or(end);
        let decision = c.adoption_decisions.iter().rev().find(|x| **x <= on).copied();
        let matched = c.matches.iter().rev().find(|(x, _)| *x <= on);
        let (date_match, foster, nb, sx, ls) = match matched {
            Some((x, m)) => (
                d(*x),
                flag(m.adopters_were_foster_carers),
                m.adopter_count.to_string(),
                m.adopters_sex.code().to_string(),
                m.adopters_legal_status.code().to_string(),
            ),
            None => Default::default(),
        };
        push(
            out,
            TableKind::Ad1,
            vec![
                child.clone(),
                dob_s.clone(),
                od(decision),
                date_match,
                foster,
                nb,
                sx,
                ls,
            ],
        );
        in_header = true;
    }

    // Care leavers with a birthday from the 17th to the 21st in the year.
    if let Some(row) = oc3_row(c, year, &child, dob, &dob_s) {
        push(out, TableKind::Oc3, row);
        in_header = true;
    }

    if in_header {
        let female = sex == Sex::F;
        let babies: Vec<Date> = c.became_parent.iter().copied().filter(|x| *x <= end).collect();
        let (mother, mc_dob) = if female && looked_after_in_year {
            (flag(!babies.is_empty()), od(babies.last().copied()))
        } else {
            (String::new(), String::new())
        };
        push(
            out,
            TableKind::Header,
            vec![
                child,
                sex.ssda903_code(year).to_string(),
                dob_s,
                c.ethnicity
                    .map(|e| e.code().to_string())
                    .unwrap_or_else(|| "NOBT".to_string()),
                c.upn
                    .as_ref()
                    .map(|u| u.as_str().to_string())
                    .or_else(|| c.upn_unknown.map(|r| r.code().to_string()))
                    .unwrap_or_else(|| "UN5".to_string()),
                mother,
                mc_dob,
            ],
        );
    }
}

/// The periods of care (first day, last day or `None` while open, and whether the first day is only the
/// earliest the record holds: a period found in progress), from the episodes.
pub(crate) fn periods_of_care(episodes: &[Episode]) -> Vec<(Date, Option<Date>, bool)> {
    let mut out: Vec<(Date, Option<Date>, bool)> = Vec::new();
    for e in episodes {
        if e.reason_new == ReasonNewEpisode::S || e.period_start_unknown || out.is_empty() {
            out.push((e.start, None, e.period_start_unknown));
        }
        if let Some(last) = out.last_mut() {
            last.1 = match e.reason_ceased {
                Some(r) if r != ReasonEpisodeCeased::X1 => e.end,
                _ => None,
            };
        }
    }
    out
}

/// Social worker episodes for the time the child was looked after in the year: each allocation that
/// overlaps a period of care overlapping the year, within that period: starting no earlier than it and
/// ending no later (the validator's rules SW10-SW12 check them against the episodes: none before a period
/// starts, none with a gap; a worker who stays on after the child leaves care is no longer a looked-after
/// child's social worker, SW11b).
fn social_worker_episodes(
    c: &ChildFacts,
    year: CollectionYear,
) -> Vec<(Date, Option<Date>, &super::facts::SocialWorkerSpell)> {
    let (start, end) = (year.start_date(), year.end_date());
    let mut out = Vec::new();
    for (p_start, p_end, start_unknown) in periods_of_care(&c.episodes) {
        if p_start > end || p_end.is_some_and(|x| x < start) {
            continue;
        }
        for s in &c.social_workers {
            let overlaps_period = s.start <= p_end.unwrap_or(end) && s.end.is_none_or(|x| x > p_start);
            let overlaps_year = s.start <= end && s.end.is_none_or(|x| x >= start);
            if overlaps_period && overlaps_year {
                // A period found in progress began before its first recorded day: not clipped to it.
                let from = if start_unknown {
                    s.start
                } else {
                    s.start.max(p_start)
                };
                let until = match (s.end, p_end) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                out.push((from, until, s));
            }
        }
    }
    out
}

/// Whether an H5 episode ending on `end` is reported without a URN in `year` (see the Episodes table).
fn h5_unregistered(year: CollectionYear, end: Option<Date>) -> bool {
    let registration = Date::new(2023, 10, 28).expect("a real date");
    year < CollectionYear::from_label_const("2023/24") || end.is_some_and(|x| x < registration)
}

/// `DATE_PERM`: `dd/mm/yyyy`, with `zz` for an unknown day or month.
fn partial_date_903(p: &journey_core::domain::PartialDate) -> String {
    let s = p.as_str();
    let (y, rest) = s.split_at(4);
    match rest.len() {
        0 => format!("zz/zz/{y}"),
        3 => format!("zz/{}/{y}", &rest[1..3]),
        _ => format!("{}/{}/{y}", &rest[4..6], &rest[1..3]),
    }
}

/// The validator's `CONTINUOUSLY_LOOKED_AFTER` at 31 March.
pub(crate) fn continuously_looked_after(episodes: &[Episode], year: CollectionYear) -> bool {
    let (start, end) = (year.start_date(), year.end_date());
    let during: Vec<&Episode> = episodes
        .iter()
        .filter(|e| e.start <= end && e.end.is_none_or(|x| x >= start))
        .collect();
    !during.is_empty()
        && !during.iter().any(|e| {
            let enters = e.reason_new == ReasonNewEpisode::S && e.start > start;
            let leaves = e.end.is_some_and(|x| x < end)
                && e.reason_ceased.is_some_and(|r| r != ReasonEpisodeCeased::X1);
            enters || leaves || e.legal_status.is_short_break()
        })
}

pub(super) fn oc2_row(
    c: &ChildFacts,
    year: CollectionYear,
    child: &str,
    dob: Date,
    dob_s: &str,
) -> Vec<String> {
    let (start, end) = (year.start_date(), year.end_date());
    let in_year = |x: &Date| *x >= start && *x <= end;
    let age = dob.age_on(end);
    let sdq = c.sdq.iter().rev().find(|(x, _, _)| in_year(x));
    // Children whose 4th to 17th birthday has passed by 31 March (validator rule 197B).
    let (score, reason) = if (4..=17).contains(&age) {
        match sdq {
            Some((_, Some(s), _)) => (s.to_string(), String::new()),
            Some((_, None, Some(r))) => (String::new(), r.code().to_string()),
            _ => (String::new(), "SDQ4".to_string()),
        }
    } else {
        (String::new(), String::new())
    };
    let convicted = if age >= 10 {
        flag(c.convictions.iter().any(in_year))
    } else {
        String::new()
    };
    // HEALTH_ASSESSMENT: a statutory health assessment in the year; HEALTH_CHECK: the under-5s'
    // development assessment (health promotion), blank from age 5 (validator rule 546).
    let health_assessment = flag(c.health_assessments.iter().any(|(x, _)| in_year(x)));
    let immunised = flag(
        c.immunisations
            .iter()
            .rev()
            .find(|(x, _)| *x <= end)
            .is_some_and(|(_, up)| *up),
    );
    let teeth = flag(c.dental_checks.iter().any(in_year));
    let development = if age < 5 {
        flag(c.health_assessments.iter().any(|(x, _)| in_year(x)))
    } else {
        String::new()
    };
    let misuse = c.substance_misuse.iter().rev().find(|(x, _)| in_year(x));
    let (sub, received, offered) = match misuse {
        Some((_, i)) => (
            flag(true),
            flag(*i == Some(SubstanceMisuseIntervention::Received)),
            // Offered (and refused) only when none was received (validator rule 158).
            if *i == Some(SubstanceMisuseIntervention::Received) {
                String::new()
            } else {
                flag(*i == Some(SubstanceMisuseIntervention::OfferedAndRefused))
            },
        ),
        None => (flag(false), String::new(), String::new()),
    };
    vec![
        child.to_string(),
        dob_s.to_string(),
        score,
        reason,
        convicted,
        development,
        immunised,
        teeth,
        health_assessment,
        sub,
        received,
        offered,
    ]
}

fn placed_for_adoption(out: &mut Tables, c: &ChildFacts, year: CollectionYear, child: &str, dob_s: &str) {
    let (start, end) = (year.start_date(), year.end_date());
    for (i, decided) in c.adoption_decisions.iter().enumerate() {
        if *decided > end {
            continue;
        }
        let next = c.adoption_decisions.get(i + 1).copied();
        let reversal = c
            .adoption_decisions_reversed
            .iter()
            .find(|(x, _)| *x >= *decided && next.is_none_or(|n| *x < n))
            .copied();
        if reversal.is_some_and(|(x, _)| x < start) {
            continue;
        }
        let reversal = reversal.filter(|(x, _)| *x <= end);
        let reversed = reversal.map(|(x, _)| x);
        // The reason: as the reversal records it, else a placement for adoption that ended that day, else
        // "any other reason".
        let reason = reversal.map(|(x, code)| {
            code.or_else(|| {
                c.placements_for_adoption_ceased
                    .iter()
                    .find(|(on, _)| *on == x)
                    .map(|(_, r)| *r)
            })
            .unwrap_or(ReasonPlacedCeased::RD4)
            .code()
            .to_string()
        });
        push(
            out,
            TableKind::PlacedAdoption,
            vec![
                child.to_string(),
                dob_s.to_string(),
                d(*decided),
                od(reversed),
                reason.unwrap_or_default(),
            ],
        );
    }
}

pub(super) fn oc3_row(
    c: &ChildFacts,
    year: CollectionYear,
    child: &str,
    dob: Date,
    dob_s: &str,
) -> Option<Vec<String>> {
    let birthday = (17..=21).map(|n| dob.add_years(n)).find(|b| year.contains(*b))?;
    let fourteen = dob.add_years(14);
    let sixteen = dob.add_years(16);
    let mut days_after_14 = 0i64;
    let mut after_16 = false;
    for e in &c.episodes {
        if e.legal_status.is_short_break() {
            continue;
        }
        let e_end = e.end.unwrap_or(birthday).min(birthday);
        let from = e.start.max(fourteen);
        if e_end > from {
            days_after_14 += i64::from(from.days_until(e_end));
        }
        if e_end > sixteen {
            after_16 = true;
        }
    }
    // Looked after on the birthday, or leaving care on it, is not yet a care leaver (validator rule 1016).
    let still_looked_after = c
        .episodes
        .last()
        .is_some_and(|e| e.end.is_none_or(|x| x >= birthday));
    let contact = c
        .care_leaver_contacts
        .iter()
        .filter(|k| k.on >= birthday.add_days(-91) && k.on <= birthday.add_days(31))
        .min_by_key(|k| (k.on.days_until(birthday)).abs());
    // A young person whose care the record does not hold at all (history imported from a return that began
    // after they left care): the care-leaver contact recorded for them is the authority's word, from that
    // return, that they are a care leaver; the time test cannot be counted and is not.
    let care_unrecorded = c.episodes.is_empty() && contact.is_some();
    if !care_unrecorded && (days_after_14 < 91 || !after_16 || still_looked_after) {
        return None;
    }
    let died = c.died.is_some_and(|x| x <= birthday);
    let (in_touch, activ, accom) = match contact {
        _ if died => ("DIED".to_string(), "0".to_string(), "0".to_string()),
        Some(k) => (
            k.in_touch.code().to_string(),
            k.activity.map_or("0", |a| a.code()).to_string(),
            k.accommodation.map_or("0", |a| a.code()).to_string(),
        ),
        // No contact around the birthday: not in touch, as the DfE guide counts it.
        None => ("NO".to_string(), "0".to_string(), "0".to_string()),
    };
    Some(vec![child.to_string(), dob_s.to_string(), in_touch, activ, accom])
}
