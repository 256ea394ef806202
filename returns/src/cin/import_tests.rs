//! The census import: a synthetic authority's censuses, exported, imported into an empty log and exported
//! again, are the same files; imported twice, nothing changes; bad elements and conflicts between years
//! are reported with the file, line and element, and refuse the child as a whole.

use std::sync::Arc;

use futures::executor::block_on;

use super::*;
use crate::ssda903::{ImportFile, ImportOptions};
use journey_core::codes::CollectionYear;
use journey_core::ids::AgencyId;
use journey_core::ids::Version;
use journey_core::store::InMemoryStore;
use journey_core::testkit;
use journey_core::time::{Clock, ManualClock, Timestamp};
use journey_synth::{self as synth, AuthorityProfile};

fn options(at: Timestamp) -> ImportOptions {
    ImportOptions {
        year: CollectionYear::parse("2024/25").unwrap(),
        agency: AgencyId::parse("la-878").unwrap(),
        principal: testkit::principal(),
        source_recorded_at: at,
        concurrency: 8,
    }
}

fn census_files(store: &dyn EventStore, known_at: Timestamp, years: &[CollectionYear]) -> Vec<ImportFile> {
    years
        .iter()
        .map(|year| {
            let census = block_on(export(
                store,
                &CinOptions {
                    year: *year,
                    known_at,
                    la_code: "878".into(),
                    produced_at: ts("2025-07-01T09:00:00Z"),
                    bank_holidays: &[],
                },
            ))
            .unwrap();
            ImportFile {
                name: format!("cin-{}.xml", year.to_string().replace('/', "-")),
                bytes: census.to_xml(),
            }
        })
        .collect()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).unwrap()
}

fn text(files: &[ImportFile]) -> Vec<String> {
    files
        .iter()
        .map(|f| String::from_utf8(f.bytes.clone()).unwrap())
        .collect()
}

fn assert_clean(report: &CinImportReport) {
    assert!(
        report.tally.problems.is_empty(),
        "{:#?}",
        &report.tally.problems[..report.tally.problems.len().min(10)]
    );
    assert!(
        report.tally.conflicts.is_empty(),
        "{:#?}",
        &report.tally.conflicts[..report.tally.conflicts.len().min(10)]
    );
    assert!(
        report.unrecorded.is_empty(),
        "{:#?}",
        &report.unrecorded[..report.unrecorded.len().min(10)]
    );
}

#[test]
fn importing_a_synthetic_authoritys_censuses_reproduces_them_and_a_second_import_changes_nothing() {
    let profile = AuthorityProfile {
        children: 250,
        la_code: "878".into(),
        ..AuthorityProfile::small()
    };
    let clock = testkit::clock();
    let source = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&source, &clock, synth::generate(23, &profile))).unwrap();
    assert!(load.rejected.is_empty(), "{:?}", load.rejected);
    let known_at = clock.now();
    // Every year the synthetic history touches, so that no plan is older than the imported censuses.
    let years: Vec<CollectionYear> = (2014..=2026).map(|y| CollectionYear::new(y).unwrap()).collect();
    let exported = census_files(&source, known_at, &years);
    let xml = text(&exported);
    let protection = xml
        .iter()
        .map(|x| x.matches("<ChildProtectionPlans>").count())
        .sum::<usize>();
    let section47 = xml
        .iter()
        .map(|x| x.matches("<Section47>").count())
        .sum::<usize>();
    assert!(
        protection >= 10 && section47 >= 20,
        "{protection} plans, {section47} enquiries"
    );

    // All years in one import.
    let clock = Arc::new(ManualClock::new(ts("2025-08-01T09:00:00Z")));
    let target = InMemoryStore::new(clock.clone());
    let report = block_on(import_census(&target, &exported, &options(known_at), &())).unwrap();
    assert_clean(&report);
    assert!(report.tally.children_imported > 100, "{report:?}");
    assert_eq!(report.tally.children_refused, 0);
    let again = census_files(&target, clock.now(), &years);
    for (i, (a, b)) in xml.iter().zip(text(&again)).enumerate() {
        if *a != b {
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
            let show = |s: &str| {
                s.lines()
                    .skip(line.saturating_sub(30))
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "{}: differs at line {}:\n--- exported\n{}\n--- re-exported\n{}",
                years[i],
                line + 1,
                show(a),
                show(&b)
            );
        }
    }

    // Twice: nothing new.
    let twice = block_on(import_census(&target, &exported, &options(known_at), &())).unwrap();
    assert_clean(&twice);
    assert_eq!(twice.tally.events_appended, 0, "{twice:?}");
    assert_eq!(twice.tally.children_unchanged, report.tally.children_imported);

    // Year by year, each import merging into what the earlier ones recorded: the same log's census.
    let clock = Arc::new(ManualClock::new(ts("2025-08-01T09:00:00Z")));
    let stepwise = InMemoryStore::new(clock.clone());
    for file in &exported {
        let report = block_on(import_census(
            &stepwise,
            std::slice::from_ref(file),
            &options(known_at),
            &(),
        ))
        .unwrap();
        assert_clean(&report);
    }
    assert_eq!(text(&census_files(&stepwise, clock.now(), &years)), xml);
}

const HEADER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>CIN</Collection><Year>YEAR</Year><ReferenceDate>x</ReferenceDate></CollectionDetails>
  </Header>
  <Children>
"#;

fn file(name: &str, year: &str, children: &str) -> ImportFile {
    ImportFile {
        name: name.into(),
        bytes: format!(
            "{}{children}  </Children>\n</Message>\n",
            HEADER.replace("YEAR", year)
        )
        .into_bytes(),
    }
}

fn child(id: &str, episode: &str) -> String {
    format!(
        r#"    <Child>
      <ChildIdentifiers><LAchildID>{id}</LAchildID><PersonBirthDate>2015-03-02</PersonBirthDate><Sex>F</Sex></ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity><Disabilities><Disability>NONE</Disability></Disabilities></ChildCharacteristics>
{episode}    </Child>
"#
    )
}

#[test]
fn bad_elements_and_conflicts_name_the_file_line_and_element_and_refuse_only_that_child() {
    let clock = Arc::new(ManualClock::new(ts("2026-01-05T09:00:00Z")));
    let store = InMemoryStore::new(clock.clone());
    let good = "      <CINdetails><CINreferralDate>2024-05-01</CINreferralDate><ReferralSource>1A</ReferralSource>\
<PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA></CINdetails>\n";
    let bad = "      <CINdetails><CINreferralDate>2024-13-01</CINreferralDate><ReferralSource>ZZ</ReferralSource>\
<PrimaryNeedCode>N1</PrimaryNeedCode></CINdetails>\n";
    let first = file(
        "cin-2025.xml",
        "2025",
        &format!("{}{}", child("C-GOOD", good), child("C-BAD", bad)),
    );
    let report = block_on(import_census(
        &store,
        std::slice::from_ref(&first),
        &options(clock.now()),
        &(),
    ))
    .unwrap();
    assert_eq!(
        (report.tally.children_imported, report.tally.children_refused),
        (1, 1),
        "{report:?}"
    );
    let columns: Vec<(&str, usize, &str)> = report
        .tally
        .problems
        .iter()
        .map(|p| (p.file.as_str(), p.row, p.column.as_str()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("cin-2025.xml", 15, "Child[2]/CINdetails[1]/CINreferralDate"),
            ("cin-2025.xml", 15, "Child[2]/CINdetails[1]/ReferralSource"),
        ],
        "{:#?}",
        report.tally.problems
    );
    assert!(
        report.tally.problems[1].rule.contains("ZZ"),
        "{}",
        report.tally.problems[1].rule
    );
    assert!(
        block_on(store.read_stream(testkit::child("C-BAD"), Version(1), 10))
            .unwrap()
            .is_empty()
    );

    // The next year says the episode closed; a census that disagrees about its source is a conflict.
    let closed = "      <CINdetails><CINreferralDate>2024-05-01</CINreferralDate><ReferralSource>1A</ReferralSource>\
<PrimaryNeedCode>N1</PrimaryNeedCode><CINclosureDate>2025-06-01</CINclosureDate><ReasonForClosure>RC8</ReasonForClosure>\
<ReferralNFA>false</ReferralNFA></CINdetails>\n";
    let next = file("cin-2026.xml", "2026", &child("C-GOOD", closed));
    let report = block_on(import_census(&store, &[next], &options(clock.now()), &())).unwrap();
    assert_eq!(
        (report.tally.children_imported, report.tally.events_appended),
        (1, 1),
        "{report:?}"
    );
    let other_source = closed.replace("<ReferralSource>1A", "<ReferralSource>5A");
    let clash = file("cin-2026b.xml", "2026", &child("C-GOOD", &other_source));
    let report = block_on(import_census(&store, &[clash], &options(clock.now()), &())).unwrap();
    assert_eq!(report.tally.children_refused, 1);
    assert_eq!(report.tally.conflicts.len(), 1, "{:#?}", report.tally.conflicts);
    let conflict = &report.tally.conflicts[0];
    assert_eq!(conflict.column, "Child[1]/CINdetails[1]/ReferralSource");
    assert!(
        conflict.rule.contains("\"1A\"") && conflict.rule.contains("\"5A\""),
        "{}",
        conflict.rule
    );

    // Not a census at all.
    let junk = ImportFile {
        name: "notes.xml".into(),
        bytes: b"<Message><Header><CollectionDetails><Collection>903</Collection>".to_vec(),
    };
    let report = block_on(import_census(&store, &[junk], &options(clock.now()), &())).unwrap();
    assert_eq!(report.tally.problems.len(), 1, "{report:?}");
    assert!(
        report.tally.problems[0].rule.contains("well-formed"),
        "{}",
        report.tally.problems[0].rule
    );
}

#[test]
fn an_unborn_child_then_born_a_year_later_is_one_child_whose_details_are_amended_not_a_conflict() {
    let clock = Arc::new(ManualClock::new(ts("2026-01-05T09:00:00Z")));
    let store = InMemoryStore::new(clock.clone());
    let episode = "      <CINdetails><CINreferralDate>2023-11-20</CINreferralDate><ReferralSource>5A</ReferralSource>\
<PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA></CINdetails>\n";
    // 2023/24: known only as unborn (GenderCurrent 0: not known), with an expected date of birth.
    let unborn = format!(
        "    <Child>\n      <ChildIdentifiers><LAchildID>C-UNBORN</LAchildID><UPNunknown>UN1</UPNunknown>\
<ExpectedPersonBirthDate>2024-02-10</ExpectedPersonBirthDate><GenderCurrent>0</GenderCurrent></ChildIdentifiers>\n\
{episode}    </Child>\n"
    );
    // 2024/25: born on 2024-02-08, a girl.
    let born = format!(
        "    <Child>\n      <ChildIdentifiers><LAchildID>C-UNBORN</LAchildID><UPNunknown>UN1</UPNunknown>\
<PersonBirthDate>2024-02-08</PersonBirthDate><Sex>F</Sex></ChildIdentifiers>\n{episode}    </Child>\n"
    );
    let files = [
        file("cin-2024.xml", "2024", &unborn),
        file("cin-2025.xml", "2025", &born),
    ];
    let report = block_on(import_census(&store, &files, &options(clock.now()), &())).unwrap();
    assert_clean(&report);
    assert_eq!(report.tally.children_imported, 1, "{report:?}");
    let events = block_on(store.read_stream(testkit::child("C-UNBORN"), Version(1), 100)).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.payload.kind().as_str()).collect();
    assert_eq!(
        kinds,
        ["ChildRegistered", "ReferralReceived", "ChildDetailsAmended"],
        "{events:#?}"
    );
    let EventPayload::ChildDetailsAmended(amended) = &events[2].payload else {
        unreachable!()
    };
    assert_eq!(amended.date_of_birth, Some(testkit::date("2024-02-08")));
    assert_eq!(amended.sex, Some(Sex::F));
    // Every source of the facts is named: the file and the line each came from.
    let provenance: Vec<String> = events
        .iter()
        .map(|e| e.envelope.correlation_id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        provenance,
        [
            "cin:2023-24:cin-2024.xml:7",
            "cin:2023-24:cin-2024.xml:9",
            "cin:2024-25:cin-2025.xml:7"
        ]
    );
    // Again, either year or both: nothing new, nothing in conflict.
    for again in [&files[..1], &files[1..], &files[..]] {
        let report = block_on(import_census(&store, again, &options(clock.now()), &())).unwrap();
        assert_clean(&report);
        assert_eq!(report.tally.events_appended, 0, "{report:?}");
    }
    // The 2024/25 census of the log says what the file said.
    let census = block_on(export(
        &store,
        &CinOptions {
            year: CollectionYear::parse("2024/25").unwrap(),
            known_at: clock.now(),
            la_code: "878".into(),
            produced_at: clock.now(),
            bank_holidays: &[],
        },
    ))
    .unwrap();
    let xml = String::from_utf8(census.to_xml()).unwrap();
    assert!(
        xml.contains("<PersonBirthDate>2024-02-08</PersonBirthDate>"),
        "{xml}"
    );
    assert!(!xml.contains("ExpectedPersonBirthDate"), "{xml}");
    assert!(xml.contains("<Sex>F</Sex>"), "{xml}");
}
