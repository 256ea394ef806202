//! Policies of contract 1.0 are served exactly as they were before contract 2.0 existed: the reference
//! policies' 1.0.1 components give, for the same inputs, the same output bytes, and a host the same
//! engine-configuration hash, as when they were current. So a decision recorded from one of them replays byte
//! for byte (its output hash and engine hash are what the replay compares).
//!
//! The hashes below were computed with the host and the components of commit a7942ba (before contract 2.0),
//! for every example case each component shipped with, and for Child A of the example streams.

use std::sync::Arc;

use futures::executor::block_on;
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, ExpectedVersion, ManualClock, OccurredAt, PrincipalId, Version};
use journey_plugins::guests::REFERENCE_POLICIES;
use journey_plugins::registry::ExampleCase;
use journey_plugins::{Calendar, Contract, Host, HostConfig, PolicyInput};

use crate::support::{child_a, host, input_on};

/// The input an example case is judged on, built as the registry's example runner builds it.
fn example_input(case: &ExampleCase, parameters: &serde_json::Value) -> PolicyInput {
    let known_at = OccurredAt::on(case.evaluation_date.add_days(1))
        .to_timestamp()
        .plus_micros(-1);
    let store = InMemoryStore::new(Arc::new(ManualClock::new(known_at)));
    let child = ChildId::parse("example-child").unwrap();
    for event in &case.events {
        block_on(store.append(AppendRequest {
            child_id: child.clone(),
            expected: ExpectedVersion::Any,
            recorded_by: PrincipalId::parse("example-runner").unwrap(),
            events: vec![event.clone()],
        }))
        .unwrap();
    }
    let events = block_on(store.read_stream(child, Version::FIRST, usize::MAX)).unwrap();
    let parameters = case.parameters.as_ref().unwrap_or(parameters);
    let as_of = AsOf {
        on: case.evaluation_date,
        known_at,
    };
    PolicyInput::from_stream(
        &events,
        as_of,
        Calendar::england_and_wales(),
        canonical(parameters),
    )
    .unwrap()
}

/// Parameters as the registry hands them to a policy: compact JSON, keys sorted.
fn canonical(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// What each frozen 1.0.1 reference policy answered, per input: `name version case: policy <sha256 of the
/// component> input <input hash> output <output hash>`.
const ANSWERS: &[&str] = &[
    "care-leaver-entitlements 1.0.1 01-eligible-born-29-february.json: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input 27aff8167739af6ac2a7ee22c810bded1c6221c22ea3e6b86f490c1f55de0a42 output 40a2c0e9b7aa3aeafda491ec74ad8ad560f88d682d80986c6f74bde87913aae6",
    "care-leaver-entitlements 1.0.1 02-short-breaks-do-not-count.json: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input 5afd84e4507c38a8d737a1a601fffab77fa576a06bbba294192df6849596c5e3 output 4be4ae60d9c1cd693eb311328a1dcdfd51929726a9f598928b0f0ee747c72d4c",
    "care-leaver-entitlements 1.0.1 03-relevant-after-leaving-care.json: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input bd5ea63ef8b76bdf8062e4a21537d7dd9175c92ffba38981bfcfc69c26c61216 output 1c329a278737ead5d57e61e0639674c0fb102ad2d71aaf0a71d697c8da532e6f",
    "care-leaver-entitlements 1.0.1 04-former-relevant-staying-put.json: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input 88e3fc015a68109b9d6c9219259f6ae7f786841bbd0ad80184993c57fa3b6557 output 0b1eb4c427f1603252f2c2270f2d68cbf04e6649698e8b8f7a67c45f4c041ffe",
    "care-leaver-entitlements 1.0.1 05-qualifying-special-guardianship.json: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input 973e5a712d754c5aae1fb2746c354e3277a44ba89ae20ef1d356fbb9ad99e72e output 609bc62a2fcd60f99265d55195f2e9a8c4ead29daf09e755a7455f49385fed45",
    "care-leaver-entitlements 1.0.1 child A: policy 63a98f9e32093ab211ca2f9da3d2e18bb615d0299940dc69f25d3c26cb38e401 input 5d59cfa12c64cf975ae0e689b9119caf4177df51f88024d0e3fb4aad5a25e0d9 output 52478d3536e14154d90f48a8aefaf7d930a4264396da263ca076a81679cb9d9c",
    "levels-of-need 1.0.1 01-universal.json: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input 193601193b3e997e4626fdb455aaebfedcdd54f99eec6455088221faa4eb175c output 63e6901d6ebbf20139c91da97bd82ccd7439654230cc5fa291117ac7937d2c22",
    "levels-of-need 1.0.1 02-baby-parental-drug-misuse.json: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input bb67a9f64f809a4b293d4007124e142674c5027869a4d4fcef5d4b37c59afb7f output f31c169bad1e03fd1dc6b8ddc18a6cc9235af57d6ed3e03b943fd2be91259063",
    "levels-of-need 1.0.1 03-multiple-needs.json: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input d323c7f344258876dd57155a86ff020fb9e4e1dd8465d7461f6fd6082691b3bc output 56bf6178f4c9c52e84d15bdf5e86de4dfc04c8b91f723a5823f19824a37347b2",
    "levels-of-need 1.0.1 04-another-areas-document.json: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input 592c3540832af0de3a3c8d09a57d23865f99d89163b1dbf18addb50d8990aaf9 output a7a0670dfeef8e66632fb4d4a7620d49b4e0e66b9ae03884d7ecfb1c088d9fd8",
    "levels-of-need 1.0.1 05-re-referral-disabled-child.json: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input 56a367bd465780391d086119d4ca538408fb46daeb45eb8feb7fe0b4817d8b5b output 9fe65ee46e244f1766a0e1a28fff52d3b2a7a564bfadbbf0e4f0c6b7f0259c3f",
    "levels-of-need 1.0.1 child A: policy 3310307fbfd406a8a054c67c4470180f73918b4c9ed00e04d7880143022627c0 input b7dfe5b264c5cd6adb47598d7d5676fc436901815a6eca7f886b8cac5f057566 output 4822f8c1e6216a775e4ee134ebe5cc31eb8d5626b48a51f662d0ccb434ca0332",
    "statutory-timescales 1.0.1 01-easter-contact.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input 24dc932d9b932bf61bea8c01bb3fc0fc3889bccd03509f2f0a0025e69bdc377c output 19a2a22792469cb7e19a4dbd9bc08df57188f86b45243cc0a3a67ccd6bad1ac1",
    "statutory-timescales 1.0.1 02-protection-over-the-may-bank-holiday.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input 7ad6a29be0e8cab002ca8623e8ce6cb07e016434f7e895ceee888cfbd4fd5af6 output 31a66e39beaec1a317e75cc292543ecab482e447056b639ed0996dea19d3d2b5",
    "statutory-timescales 1.0.1 03-looked-after-toddler.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input f6d88102a30fc012324ddfc126aa26207941dbd5b73316a6ae95a2bac9bcdcad output a4d8f8316feb23d37a839ded720f058371ccef548957beadf9d319499554e3dc",
    "statutory-timescales 1.0.1 04-return-interviews.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input 01d0a14b951a04bc1cb770e0bfd5ef771ee6366d4596ce47434c2d332e2438cd output 0a5cd5b543132f9af04e0fa7f5060c3b3d00d01c96efc28be8edbc3fd12d5f97",
    "statutory-timescales 1.0.1 05-adoption-scorecard.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input 7776cfc9cb015321e88be58aa0fbdd4aa83010cacca43db1e509866537103162 output 39ad1951bfb078c5c4f96d226b382e007fc9041ebe2767750f2db094f015cef7",
    "statutory-timescales 1.0.1 06-working-together-editions.json: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input 05195c82ecde5e5615be209bdd104a0cc78b3ffb04f65ceb95975f92b346b644 output 23657e10e3e895852a1b1afb7cb89cb68257bf6832600cf0e1555d910d33498f",
    "statutory-timescales 1.0.1 child A: policy f8740863934e195f4c3b24e381ce52ec55247e77ce5e41ab76a533380d10eac2 input e019ec5a0f496226f5563d2d4144f593048278504ac8dc50efcaf12d926c5fce output 811b9323e82f92e31aea9eb21169ac8d396f088229ffbdccfe5c029d96d7da94",
    "step-up-down 1.0.1 01-escalating-contacts.json: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input a0507b60eebf685581a382eb35dd45545c31da1249347b2053a1329898b9d9a2 output 0c2d9ea4849b75e9b88daee25b7eca13cca8ecd3d52fe941035e08cc2c7f65a1",
    "step-up-down 1.0.1 02-review-conference-ends-plan.json: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input 4a4f24cd93a71269cde4812864e42dda0f4e178e8aced4f6c5858269808eb9d4 output a32bead0b18b3861bce83a4502939f6126f09433cb50f5a6eb06934385cb63c5",
    "step-up-down 1.0.1 03-re-referral.json: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input f2c022159d266e5c470dfef2b1dda7aa081158cfce9337f59644331d3314a835 output fd26348ffe96cd073a968274c277413f5592e6e81aff59a53d37220905beb50c",
    "step-up-down 1.0.1 04-returned-home.json: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input d7955139a70043a321b0044a463361f16444eb15c9dd43e5f0c060b73357b33b output ebf16a35e0ab1b6818732b8ceedb638f744463f643c279089aac0e1528dd7deb",
    "step-up-down 1.0.1 05-protection-concern.json: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input d5c7d7871a7d67fc9332abbd29641f7a831658ad96e26d1f4056fc7108565463 output 4407f4c27376bd286bf9a2ecd2065ba89797540a2b8bb64a6d5ad093fc8403ee",
    "step-up-down 1.0.1 child A: policy 98d33cf7bae46c578abd778375b5209114727eaad482396c7d1b94e92b4552b3 input 2fa867168e388cc3b96a5f8bffd80ad0a1c0a6357799934e1dc01dd36447f586 output 0893401db9a7aa466b6d01dbc9074e8497f887593f91c2ab4f7393ae683b823e",
];

/// The engine-configuration hash of a host with the default configuration, for contract 1.0 components.
const ENGINE_1_0: &str = "0e988bcca1c145f781323cd539e61a37efa6df213eae8c95680ed0604d5b97a1";

#[test]
fn the_1_0_1_reference_policies_answer_byte_for_byte_as_before_contract_2() {
    let host = host();
    let mut got = Vec::new();
    let frozen: Vec<_> = REFERENCE_POLICIES
        .iter()
        .filter(|p| p.dir.starts_with("reference/"))
        .collect();
    assert_eq!(frozen.len(), 4, "the four reference policies at 1.0.1");
    for reference in frozen {
        let policy = host.load(reference.component).unwrap();
        let info = policy.info();
        assert_eq!(info.version, "1.0.1", "{}", reference.dir);
        assert_eq!(info.contract_version, "1.0.0", "{}", reference.dir);
        let parameters: serde_json::Value = serde_json::from_str(reference.parameters).unwrap();
        let mut inputs: Vec<(String, PolicyInput)> = reference
            .examples
            .iter()
            .map(|(file, text)| {
                let case: ExampleCase = serde_json::from_str(text).unwrap();
                (file.to_string(), example_input(&case, &parameters))
            })
            .collect();
        inputs.push((
            "child A".into(),
            input_on(&child_a(), "2009-06-30", &canonical(&parameters)),
        ));
        for (case, input) in inputs {
            let evaluation = host.evaluate(&policy, &input).unwrap();
            got.push(format!(
                "{} {} {case}: policy {} input {} output {}",
                info.name,
                info.version,
                evaluation.policy_hash,
                evaluation.input_hash,
                evaluation.output_hash
            ));
        }
    }
    got.sort();
    let mut expected: Vec<String> = ANSWERS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(got, expected);
    let engine = Host::new(HostConfig::default())
        .unwrap()
        .engine_config_hash(Contract::V1);
    assert_eq!(engine.to_string(), ENGINE_1_0);
}

/// A decision recorded from a 1.0 policy while a 2.0 version of it is in force replays byte for byte, and
/// reads back from the journal as what was written: the 1.0 decision's JSON, re-encoded from the registry's
/// record, still hashes to its output hash (and likewise a 2.0 decision's).
#[tokio::test]
async fn a_1_0_decision_is_recorded_and_replayed_beside_the_2_0_version_in_force() {
    use journey_core::blobs::MemoryBlobStore;
    use journey_core::journal::MemoryJournal;
    use journey_core::{Date, Timestamp, testkit};
    use journey_plugins::registry::{EvaluateRequest, Registry, VersionSelector};

    let host = Arc::new(
        Host::new(HostConfig {
            limits: crate::support::test_limits(),
            ..HostConfig::default()
        })
        .unwrap(),
    );
    let registry = Registry::open(
        Arc::new(MemoryJournal::new(testkit::clock())),
        Arc::new(MemoryBlobStore::default()),
        host,
        Calendar::england_and_wales().clone(),
        2,
    )
    .await
    .unwrap();
    for (dir, outcome) in
        journey_plugins::reference::deploy_all(&registry, &PrincipalId::parse("serve").unwrap()).await
    {
        outcome.unwrap_or_else(|e| panic!("{dir}: {e}"));
    }
    // Child A's stream, recorded as `child_a()` records it: each event at 20:00 UTC 30 days after it occurred.
    let (child, events) = journey_core::examples::example_streams()
        .into_iter()
        .find(|(c, _)| c.as_str() == "EX-A")
        .unwrap();
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let mut last = Timestamp::UNIX_EPOCH;
    for event in events {
        let due = format!("{}T20:00:00Z", event.occurred_at.date().add_days(30));
        let at = Timestamp::parse_field("at", &due)
            .unwrap()
            .max(last.plus_micros(1));
        clock.set(at);
        store
            .append(AppendRequest {
                child_id: child.clone(),
                expected: ExpectedVersion::Any,
                recorded_by: testkit::principal(),
                events: vec![event],
            })
            .await
            .unwrap();
        last = at;
    }
    let request = |version: &str| EvaluateRequest {
        policy: "statutory-timescales".into(),
        child_id: child.clone(),
        as_of: AsOf {
            on: Date::parse_field("on", "2009-06-30").unwrap(),
            known_at: Timestamp::parse_field("at", "2100-01-01T00:00:00Z").unwrap(),
        },
        version: VersionSelector::Pinned(version.into()),
        record: true,
    };
    let by = PrincipalId::parse("investigator").unwrap();
    let old = registry.evaluate(&store, &request("1.0.1"), &by).await.unwrap();
    // The very input and output of the 1.0.1 component before 2.0 existed (Child A in `ANSWERS`).
    let before = ANSWERS
        .iter()
        .find(|a| a.starts_with("statutory-timescales 1.0.1 child A:"))
        .unwrap();
    assert!(
        before.ends_with(&format!(
            "input {} output {}",
            old.evaluation.input_hash, old.evaluation.output_hash
        )),
        "{before}"
    );
    let new = registry.evaluate(&store, &request("2.0.0"), &by).await.unwrap();
    for outcome in [&old, &new] {
        let n = outcome.decision.expect("recorded");
        let replay = registry.replay(&store, n).await.unwrap();
        assert!(
            replay.identical && replay.input_identical && replay.engine_identical,
            "{} {}: {replay:?}",
            outcome.policy,
            outcome.version
        );
        assert!(replay.differences.is_empty());
        let recorded = registry.decision(&store, n).await.unwrap();
        let reencoded = serde_json::to_vec(&recorded.decisions).unwrap();
        assert_eq!(
            journey_plugins::Digest::of(&reencoded),
            recorded.output_hash,
            "{}: the decisions read back are written as they were",
            outcome.version
        );
    }
    let old_json = String::from_utf8(old.evaluation.output.clone()).unwrap();
    let new_json = String::from_utf8(new.evaluation.output.clone()).unwrap();
    assert!(old_json.contains("\"days_late\":") && !old_json.contains("late_by"));
    assert!(new_json.contains("\"late_by\":") && !new_json.contains("days_late"));
    assert_ne!(
        old.evaluation.engine_config_hash,
        new.evaluation.engine_config_hash
    );
}
