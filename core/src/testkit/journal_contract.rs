//! The journal contract: the same case for every [`Journal`] implementation, in this crate and outside it
//! (`journey-postgres`). Behind the `contract-tests` feature.

use futures::executor::block_on;
use serde_json::json;

use crate::error::{Conflict, Error};
use crate::ids::ExpectedVersion;
use crate::ids::{PrincipalId, Version};
use crate::journal::{Journal, NewRecord, SystemStream};

fn stream(name: &str) -> SystemStream {
    SystemStream::parse(name).expect("a valid stream name")
}

fn record(kind: &str, n: u64) -> NewRecord {
    NewRecord::new(
        kind,
        PrincipalId::parse("admin").expect("a valid principal"),
        &json!({ "n": n }),
    )
}

/// The promises every implementation keeps, on an empty journal. Its futures are awaited with
/// `futures::executor::block_on`, so call it from outside any async runtime.
pub fn keeps_the_contract(journal: &dyn Journal) {
    let policies = stream("policies");
    let keys = stream("keys");
    assert_eq!(journal.stream_version(&policies), 0);
    assert_eq!(journal.head().sequence, 0);

    let first = block_on(journal.append(
        &policies,
        ExpectedVersion::NoStream,
        vec![record("PolicyUploaded", 1), record("PolicyDeployed", 2)],
    ))
    .unwrap();
    assert_eq!(
        first.iter().map(|r| (r.sequence, r.version)).collect::<Vec<_>>(),
        [(1, 1), (2, 2)]
    );
    assert_eq!(first[1].previous_hash, first[0].hash);
    block_on(journal.append(&keys, ExpectedVersion::Any, vec![record("ApiKeyCreated", 3)])).unwrap();

    // The version check is atomic with the append, and names both versions.
    let err = block_on(journal.append(
        &policies,
        ExpectedVersion::NoStream,
        vec![record("PolicyDeployed", 4)],
    ))
    .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict(Conflict::WrongJournalVersion { actual: 2, .. })
        ),
        "{err:?}"
    );
    assert_eq!(journal.stream_version(&policies), 2);
    let third = block_on(journal.append(
        &policies,
        ExpectedVersion::Exact(Version(2)),
        vec![record("PolicyActivated", 5)],
    ))
    .unwrap();
    assert_eq!((third[0].sequence, third[0].version), (4, 3));

    // Bad input names the field; nothing is written.
    let bad = NewRecord {
        body: json!([1, 2]),
        ..record("PolicyRetired", 6)
    };
    let err = block_on(journal.append(
        &policies,
        ExpectedVersion::Any,
        vec![record("PolicyRetired", 7), bad],
    ))
    .unwrap_err();
    assert!(err.to_string().contains("records[1].body"), "{err}");
    assert_eq!(journal.stream_version(&policies), 3);

    let read = block_on(journal.read_stream(&policies, 2, 10)).unwrap();
    assert_eq!(read.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(read[1], third[0]);
    assert_eq!(read[0].body_as::<serde_json::Value>().unwrap(), json!({"n": 2}));
    assert!(
        block_on(journal.read_stream(&stream("access"), 1, 10))
            .unwrap()
            .is_empty()
    );

    let verification = block_on(journal.verify()).unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.records, 4);
    assert_eq!(verification.head, journal.head());
    assert_eq!(journal.head().hash, third[0].hash);
}
