//! Golden fixtures: stored records of every released schema version must decode forever.
//!
//! `core/tests/fixtures/v<N>/<Kind>.bin` is the exact stored body of one record per event kind, written once by
//! the schema version that introduced it; `<Kind>.json` is what it must decode to. Fixtures are never
//! rewritten. A new event kind gets its fixture with `JOURNEY_BLESS=1 cargo test -p journey-core golden`,
//! which only ever adds missing files. Sealed records (schema version 2, ADR 11) are opened with the fixed
//! synthetic content key in `v2/key.hex` (a test key, nothing else is sealed with it).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use journey_core::content_keys::ContentKey;
use journey_core::encoding::{self, StoreFields};
use journey_core::envelope::{SCHEMA_VERSION, SEALED_SCHEMA_VERSION};
use journey_core::testkit;
use journey_core::{NewEvent, OccurredAt, Position, PrincipalId, Timestamp, Version};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The record a fixture holds for one example payload: fixed envelope values, so the bytes are reproducible.
fn example_record(i: usize, payload: journey_core::domain::EventPayload) -> (StoreFields, NewEvent) {
    let fields = StoreFields {
        child_id: testkit::child("GOLDEN-1"),
        version: Version(i as u64 + 1),
        position: Position(1000 + i as u64),
        recorded_at: "2024-03-05T10:15:30.123456Z".parse::<Timestamp>().unwrap(),
        recorded_by: PrincipalId::parse("golden-fixture").unwrap(),
    };
    let event = NewEvent {
        event_id: testkit::event_id(&format!("golden-{i}")),
        occurred_at: OccurredAt::parse_field("occurred_at", "2024-02-01").unwrap(),
        source: testkit::source(),
        correlation_id: None,
        causation_id: None,
        source_recorded_at: Some("2024-02-02T08:00:00Z".parse().unwrap()),
        payload,
    };
    (fields, event)
}

#[test]
fn every_released_record_version_still_decodes_to_what_it_meant() {
    let mut checked = 0;
    for version_dir in fs::read_dir(fixtures()).unwrap() {
        let version_dir = version_dir.unwrap().path();
        let key = fixture_key(&version_dir);
        let keys: &dyn encoding::KeySource = match &key {
            Some(key) => key,
            None => &encoding::NoKeys,
        };
        for file in fs::read_dir(&version_dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "bin") {
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            let (envelope, payload) = encoding::decode_body(&bytes, keys)
                .unwrap_or_else(|e| panic!("{} no longer decodes: {e}", path.display()));
            let decoded = serde_json::json!({ "envelope": envelope, "payload": payload });
            let expected: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
            assert_eq!(decoded, expected, "{} decodes to something else", path.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no golden fixtures found");
}

/// The content key a version's sealed fixtures were made with, if it has one.
fn fixture_key(version_dir: &Path) -> Option<ContentKey> {
    let text = fs::read_to_string(version_dir.join("key.hex")).ok()?;
    let bytes: [u8; 32] = hex::decode(text.trim()).unwrap().try_into().unwrap();
    Some(ContentKey::from_bytes(bytes))
}

#[test]
fn every_event_kind_has_a_fixture_in_the_current_versions() {
    for schema in [SCHEMA_VERSION, SEALED_SCHEMA_VERSION] {
        fixtures_of(schema);
    }
}

fn fixtures_of(schema: u16) {
    let dir = fixtures().join(format!("v{schema}"));
    let bless = std::env::var_os("JOURNEY_BLESS").is_some();
    let sealed = schema == SEALED_SCHEMA_VERSION;
    if sealed && bless && !dir.join("key.hex").exists() {
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("key.hex"), hex::encode([0x42u8; 32]) + "\n").unwrap();
    }
    let key = fixture_key(&dir);
    let mut missing = BTreeSet::new();
    for (i, payload) in journey_core::examples::examples().into_iter().enumerate() {
        let kind = payload.kind().as_str();
        let bin = dir.join(format!("{kind}.bin"));
        if bin.exists() {
            continue;
        }
        if !bless {
            missing.insert(kind);
            continue;
        }
        fs::create_dir_all(&dir).unwrap();
        let (fields, event) = example_record(i, payload);
        let sender = encoding::encode_new_event(&event);
        let (body, keys): (Vec<u8>, &dyn encoding::KeySource) = match (&key, sealed) {
            (Some(key), true) => (
                encoding::encode_sealed_body(&fields, &event.event_id, &sender, key).unwrap(),
                key,
            ),
            _ => (encoding::encode_body(&fields, &sender), &encoding::NoKeys),
        };
        let (envelope, payload) = encoding::decode_body(&body, keys).unwrap();
        fs::write(&bin, &body).unwrap();
        let json = serde_json::json!({ "envelope": envelope, "payload": payload });
        fs::write(
            bin.with_extension("json"),
            serde_json::to_string_pretty(&json).unwrap() + "\n",
        )
        .unwrap();
    }
    assert!(
        missing.is_empty(),
        "schema {schema}: event kinds without a golden fixture: {missing:?}; add them with JOURNEY_BLESS=1 (never rewrite existing ones)"
    );
}
