//! SSDA903 export and import: the round trip, merging years, idempotency, bad rows and conflicts. (The DfE
//! validator's verdict on the export is `tests/tests/returns_validator.rs`.)

use std::path::Path;
use std::sync::Arc;

use futures::executor::block_on;
use journey_core::codes::CollectionYear;
use journey_core::ids::{AgencyId, PrincipalId};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ManualClock, Timestamp, testkit};
use journey_returns::ssda903::{self, ImportFile, ImportOptions, ImportReport, TableKind, Tables};
use journey_synth::{self as synth, AuthorityProfile};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).unwrap()
}

fn year(label: &str) -> CollectionYear {
    CollectionYear::parse(label).unwrap()
}

const YEARS: [&str; 2] = ["2023/24", "2024/25"];

/// A deep-end authority loaded into a store, and its two years' returns as known at 30 June 2025. No
/// history before 2023/24: a return's episode chain that began in an earlier year needs that year's return
/// imported first (the import refuses it, naming the row), and the round trip starts from the first year.
fn source_returns(children: usize) -> Vec<Tables> {
    let profile = AuthorityProfile {
        history_years: 0,
        ..AuthorityProfile::deep_end()
            .with_children(children)
            .with_real_postcodes()
    };
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&store, &clock, synth::generate(11, &profile))).unwrap();
    assert!(load.rejected.is_empty(), "{:?}", load.rejected);
    YEARS
        .iter()
        .map(|y| block_on(ssda903::export(&store, year(y), ts("2025-06-30T23:00:00Z"))).unwrap())
        .collect()
}

fn files(tables: &Tables, dir: &Path) -> Vec<ImportFile> {
    tables.write_csv(dir).unwrap();
    ImportFile::read_dir(dir).unwrap()
}

fn options(label: &str) -> ImportOptions {
    ImportOptions {
        year: year(label),
        agency: AgencyId::parse("la.deepdale").unwrap(),
        principal: PrincipalId::parse("importer").unwrap(),
        source_recorded_at: ts("2025-06-01T12:00:00Z"),
        concurrency: 32,
    }
}

fn empty_store() -> (Arc<ManualClock>, InMemoryStore) {
    let clock = Arc::new(ManualClock::new(ts("2025-07-01T09:00:00Z")));
    let store = InMemoryStore::new(clock.clone());
    (clock, store)
}

fn import(store: &InMemoryStore, tables: &Tables, label: &str, dir: &Path) -> ImportReport {
    block_on(ssda903::import(store, &files(tables, dir), &options(label))).unwrap()
}

fn assert_clean(r: &ImportReport) {
    assert!(
        r.tally.problems.is_empty(),
        "problems: {:#?}",
        &r.tally.problems[..r.tally.problems.len().min(10)]
    );
    assert!(
        r.tally.conflicts.is_empty(),
        "conflicts: {:#?}",
        &r.tally.conflicts[..r.tally.conflicts.len().min(10)]
    );
    assert_eq!(r.tally.children_refused, 0);
}

fn first_difference(a: &Tables, b: &Tables) -> Option<String> {
    for kind in TableKind::ALL {
        let (x, y) = (a.table(kind), b.table(kind));
        if x != y {
            let only_a: Vec<_> = x.iter().filter(|r| !y.contains(r)).take(5).collect();
            let only_b: Vec<_> = y.iter().filter(|r| !x.contains(r)).take(5).collect();
            return Some(format!(
                "{kind}: {} vs {} rows; only in the source {only_a:?}; only after the round trip {only_b:?}",
                x.len(),
                y.len()
            ));
        }
    }
    None
}

#[test]
fn importing_two_years_of_exports_reproduces_both_exports_and_a_second_import_changes_nothing() {
    let source = source_returns(160);
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = empty_store();
    let mut reports = Vec::new();
    for (tables, label) in source.iter().zip(YEARS) {
        let r = import(&store, tables, label, &dir.path().join(label.replace('/', "-")));
        assert_clean(&r);
        reports.push(r);
    }
    // The second year repeats facts of the first (episodes open across 31 March, the child's details,
    // allocations): they are recognised, not recorded twice.
    assert!(reports[0].tally.events_appended > 0 && reports[0].tally.children_imported > 0);
    assert!(reports[1].tally.facts_already_present > 0, "{:?}", reports[1]);
    let at = ts("2025-07-02T00:00:00Z");
    for (tables, label) in source.iter().zip(YEARS) {
        let again = block_on(ssda903::export(&store, year(label), at)).unwrap();
        if let Some(diff) = first_difference(tables, &again) {
            panic!("{label}: the round trip changed the return: {diff}");
        }
    }
    // Idempotent: importing both again appends nothing.
    let head = block_on(store.head()).unwrap();
    for (tables, label) in source.iter().zip(YEARS) {
        let r = import(
            &store,
            tables,
            label,
            &dir.path().join(format!("again-{}", label.replace('/', "-"))),
        );
        assert_clean(&r);
        assert_eq!(r.tally.events_appended, 0, "{label}: {r:?}");
        assert_eq!(r.tally.children_imported, 0);
    }
    assert_eq!(block_on(store.head()).unwrap(), head);
}

#[test]
fn importing_both_years_in_one_call_is_the_same_as_one_after_the_other() {
    let source = source_returns(120);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<Vec<ImportFile>> = source
        .iter()
        .zip(YEARS)
        .map(|(t, y)| files(t, &dir.path().join(y.replace('/', "-"))))
        .collect();
    let (_clock, store) = empty_store();
    // Given latest first: the years are still imported in order.
    let returns = [
        (year(YEARS[1]), files[1].as_slice()),
        (year(YEARS[0]), files[0].as_slice()),
    ];
    let r = block_on(ssda903::import_years(&store, &returns, &options("2023/24"))).unwrap();
    assert_clean(&r);
    assert!(
        r.files
            .iter()
            .all(|(name, _, _)| name.starts_with("2023-24/") || name.starts_with("2024-25/"))
    );
    let at = ts("2025-07-02T00:00:00Z");
    for (tables, label) in source.iter().zip(YEARS) {
        let again = block_on(ssda903::export(&store, year(label), at)).unwrap();
        if let Some(diff) = first_difference(tables, &again) {
            panic!("{label}: the round trip changed the return: {diff}");
        }
    }
    // One append per child; the one-by-one import records the same facts with the same event ids.
    let (_clock2, one_by_one) = empty_store();
    for (tables, label) in source.iter().zip(YEARS) {
        assert_clean(&import(
            &one_by_one,
            tables,
            label,
            &dir.path().join(format!("b-{}", label.replace('/', "-"))),
        ));
    }
    let ids = |s: &InMemoryStore| {
        let mut v: Vec<String> = block_on(s.read_all(journey_core::Position::FIRST, 1_000_000))
            .unwrap()
            .into_iter()
            .map(|e| e.envelope.event_id.as_str().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&store), ids(&one_by_one));
}

#[test]
fn imported_events_carry_provenance_and_the_source_recording_time() {
    let source = source_returns(60);
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = empty_store();
    assert_clean(&import(&store, &source[0], "2023/24", dir.path()));
    let events = block_on(store.read_all(journey_core::Position::FIRST, 100_000)).unwrap();
    assert!(!events.is_empty());
    for e in &events {
        let env = &e.envelope;
        assert_eq!(env.source.system.as_str(), "ssda903-import");
        assert_eq!(env.source_recorded_at, Some(ts("2025-06-01T12:00:00Z")));
        let c = env
            .correlation_id
            .as_ref()
            .expect("provenance")
            .as_str()
            .to_string();
        let parts: Vec<&str> = c.split(':').collect();
        assert_eq!(parts[..2], ["ssda903", "2023-24"], "{c}");
        assert!(TableKind::from_file_name(parts[2]).is_some(), "{c}");
        assert!(parts[3].parse::<usize>().unwrap() >= 2, "{c}");
    }
    // Episode chains became legal status and placement events, not rows.
    let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e.payload.kind().as_str()).collect();
    for k in [
        "ChildRegistered",
        "BecameLookedAfter",
        "PlacementChanged",
        "LookedAfterReviewHeld",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
}

#[test]
fn a_bad_row_is_reported_by_file_row_and_column_and_nothing_of_that_child_is_imported() {
    let source = source_returns(60);
    let dir = tempfile::tempdir().unwrap();
    let mut tables = source[0].clone();
    // Break one episode's legal status.
    let eps = &mut tables.tables.get_mut(&TableKind::Episodes).unwrap().rows;
    let victim = eps[0][0].clone();
    eps[0][3] = "Q9".to_string();
    let (_clock, store) = empty_store();
    let r = import(&store, &tables, "2023/24", dir.path());
    assert_eq!(r.tally.children_refused, 1, "{r:?}");
    let p = &r.tally.problems[0];
    assert_eq!(p.file, "episodes.csv");
    assert_eq!(p.row, 2, "the first data row is line 2");
    assert_eq!(p.column, "LS");
    assert!(p.rule.contains("Q9"), "{}", p.rule);
    assert_eq!(p.child.as_deref(), Some(victim.as_str()));
    // The other children are in; the victim has nothing.
    assert!(r.tally.children_imported > 0);
    let victim_events =
        block_on(store.read_stream(testkit::child(&victim), journey_core::Version(1), 1000)).unwrap();
    assert!(victim_events.is_empty(), "half-imported: {victim_events:?}");
}

/// A reason code used outside the collection years whose lists have it is refused at import, as at append,
/// with the row it came from (issue 16): E43, special guardianship before 2018/19, on an episode that ended
/// in 2023/24, whose return would fail.
#[test]
fn a_code_outside_the_years_it_is_valid_in_is_refused_naming_the_row_the_code_and_the_date() {
    let source = source_returns(60);
    let dir = tempfile::tempdir().unwrap();
    let mut tables = source[0].clone();
    let eps = &mut tables.tables.get_mut(&TableKind::Episodes).unwrap().rows;
    let (dec, rec) = (7, 8);
    let (at, row) = eps
        .iter_mut()
        .enumerate()
        .find(|(_, r)| !r[dec].is_empty() && r[rec] != "X1")
        .expect("an episode that ended care in the year");
    let (victim, ended) = (row[0].clone(), row[dec].clone());
    row[rec] = "E43".to_string();
    let (_clock, store) = empty_store();
    let r = import(&store, &tables, "2023/24", dir.path());
    assert_eq!(r.tally.children_refused, 1, "{r:?}");
    // Well formed, refused by the journey's rules (the code is checked where it is appended).
    let p = r
        .tally
        .refused_by_rules
        .iter()
        .find(|p| p.rule.contains("E43"))
        .unwrap_or_else(|| panic!("{:#?}", r.tally));
    assert_eq!((p.file.as_str(), p.row), ("episodes.csv", at + 2));
    assert_eq!(p.child.as_deref(), Some(victim.as_str()));
    // dd/mm/yyyy in the file, the date as Journey writes it in the rule.
    let (d, m, y) = (&ended[0..2], &ended[3..5], &ended[6..10]);
    assert!(
        p.rule.contains(&format!(
            "reason episode ceased code \"E43\" is not valid on {y}-{m}-{d}: it is in the DfE list up to 2017/18"
        )),
        "{}",
        p.rule
    );
}

#[test]
fn a_conflict_between_years_is_reported_not_resolved() {
    let source = source_returns(60);
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = empty_store();
    assert_clean(&import(&store, &source[0], "2023/24", &dir.path().join("y1")));
    // The second year says another date of birth for a child already known.
    let mut second = source[1].clone();
    let header = &mut second.tables.get_mut(&TableKind::Header).unwrap().rows;
    let known: Vec<String> = source[0]
        .table(TableKind::Header)
        .iter()
        .map(|r| r[0].clone())
        .collect();
    let row = header
        .iter_mut()
        .find(|r| known.contains(&r[0]))
        .expect("a child in both years");
    let child = row[0].clone();
    row[2] = "01/01/2001".to_string();
    let before = block_on(store.stream_version(testkit::child(&child))).unwrap();
    let r = import(&store, &second, "2024/25", &dir.path().join("y2"));
    let c = r
        .tally
        .conflicts
        .iter()
        .find(|c| c.child.as_deref() == Some(child.as_str()))
        .expect("reported");
    assert_eq!((c.file.as_str(), c.column.as_str()), ("header.csv", "DOB"));
    assert!(c.rule.contains("01/01/2001"), "{}", c.rule);
    assert_eq!(
        block_on(store.stream_version(testkit::child(&child))).unwrap(),
        before
    );
}

#[test]
fn files_that_are_not_ssda903_tables_are_reported() {
    let (_clock, store) = empty_store();
    let files = vec![ImportFile {
        name: "notes.csv".to_string(),
        bytes: b"A,B\n1,2\n".to_vec(),
    }];
    let r = block_on(ssda903::import(&store, &files, &options("2023/24"))).unwrap();
    assert_eq!(r.tally.problems.len(), 1);
    assert_eq!(
        (r.tally.problems[0].file.as_str(), r.tally.problems[0].row),
        ("notes.csv", 1)
    );
    assert_eq!(r.tally.events_appended, 0);
}

#[test]
fn the_export_derives_episodes_from_legal_status_and_placement_events() {
    let source = source_returns(120);
    for t in &source {
        let eps = t.table(TableKind::Episodes);
        assert!(!eps.is_empty());
        // Every chain: an X1 ending is followed, the same day, by the child's next episode.
        for w in eps.windows(2) {
            if w[0][0] == w[1][0] && w[0][8] == "X1" {
                assert_eq!(w[0][7], w[1][1], "{w:?}");
                assert_ne!(w[1][2], "S", "{w:?}");
            }
        }
        let rnes: std::collections::BTreeSet<&str> = eps.iter().map(|r| r[2].as_str()).collect();
        for code in ["S", "L", "P"] {
            assert!(rnes.contains(code), "{code} not in {rnes:?}");
        }
    }
}

/// Children in care of each kind of event in force: how many periods the log holds as found in progress.
fn in_progress_periods(store: &InMemoryStore) -> usize {
    let at = ts("2026-01-01T00:00:00Z");
    block_on(ssda903::streams_known_at(store, at))
        .unwrap()
        .values()
        .map(|events| {
            ssda903::ChildFacts::from_stream(events, at)
                .episodes
                .iter()
                .filter(|e| e.period_start_unknown)
                .count()
        })
        .sum()
}

/// An authority's history imported from a middle year on: the children already in care when its earliest
/// return begins are imported with their period of care in progress (start unknown), not refused; each
/// year's return comes back out as it went in; the earlier year imported afterwards fills the beginnings in
/// without a conflict, and the later years still come back out the same.
#[test]
fn history_imported_from_a_middle_year_keeps_the_children_already_in_care_and_fills_in_later() {
    let profile = AuthorityProfile::deep_end()
        .with_children(160)
        .with_real_postcodes();
    let clock = testkit::clock();
    let source_store = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&source_store, &clock, synth::generate(23, &profile))).unwrap();
    assert!(load.rejected.is_empty(), "{:?}", load.rejected);
    let labels = ["2022/23", "2023/24", "2024/25"];
    let source: Vec<Tables> = labels
        .iter()
        .map(|y| {
            block_on(ssda903::export(
                &source_store,
                year(y),
                ts("2025-06-30T23:00:00Z"),
            ))
            .unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = empty_store();
    // 2023/24 and 2024/25 first.
    for (tables, label) in source[1..].iter().zip(&labels[1..]) {
        let r = import(&store, tables, label, &dir.path().join(label.replace('/', "-")));
        assert_clean(&r);
    }
    let found = in_progress_periods(&store);
    assert!(found > 5, "children already in care on 1 April 2023: {found}");
    let at = ts("2025-07-02T00:00:00Z");
    for (tables, label) in source[1..].iter().zip(&labels[1..]) {
        let again = block_on(ssda903::export(&store, year(label), at)).unwrap();
        if let Some(diff) = first_difference(tables, &again) {
            panic!("{label}: the round trip changed the return: {diff}");
        }
    }
    // Then the year before: it holds the beginnings of some of those periods.
    let r = import(&store, &source[0], labels[0], &dir.path().join("2022-23"));
    assert_clean(&r);
    let left = in_progress_periods(&store);
    assert!(
        left < found,
        "the earlier year fills some beginnings in: {left} of {found} still in progress"
    );
    let at = ts("2025-07-03T00:00:00Z");
    for (tables, label) in source.iter().zip(labels) {
        let again = block_on(ssda903::export(&store, year(label), at)).unwrap();
        if let Some(diff) = first_difference(tables, &again) {
            panic!("{label}: after filling in, the return changed: {diff}");
        }
    }
    // Nothing more to do: every year again appends nothing.
    for (tables, label) in source.iter().zip(labels) {
        let r = import(
            &store,
            tables,
            label,
            &dir.path().join(format!("again-{}", label.replace('/', "-"))),
        );
        assert_clean(&r);
        assert_eq!(r.tally.events_appended, 0, "{label}: {r:?}");
    }
}
