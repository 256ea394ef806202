//! Readiness reflects whether the node can serve: a store or journal whose writer stopped after a failed
//! write (fail-stop) makes `/readyz` 503 and `journey_ready` 0, so a load balancer stops sending it traffic.
//! The failures are real: the next log segment cannot be created on disk (a directory stands where the file
//! must go, which stops even a process running as root).

use std::path::Path;
use std::sync::Arc;

use axum::http::Method;
use journey_core::journal::{Journal, MemoryJournal, NewRecord, SystemStream};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ExpectedVersion, testkit};
use journey_embedded::log::{LogOptions, SyncMode};
use journey_embedded::{EmbeddedOptions, EmbeddedStore, FileJournal};

use crate::common::Harness;

fn small_segments() -> LogOptions {
    LogOptions {
        segment_max_bytes: 4096,
        sync: SyncMode::Data,
        ..LogOptions::default()
    }
}

/// Makes every segment after the first impossible to create in `log_dir`.
fn block_new_segments(log_dir: &Path) {
    for seq in 2..200u32 {
        std::fs::create_dir_all(log_dir.join(format!("{seq:010}.seg"))).unwrap();
    }
}

async fn readiness(h: &Harness) -> (u16, String, String) {
    let ready = h.call(Method::GET, "/readyz", None, None).await;
    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    (ready.status.as_u16(), ready.text, metrics.text)
}

#[tokio::test]
async fn a_store_whose_writer_stopped_is_not_ready_and_the_metrics_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let clock = testkit::clock();
    let embedded = Arc::new(
        EmbeddedStore::open_with(
            dir.path(),
            clock.clone(),
            EmbeddedOptions {
                log: small_segments(),
                ..EmbeddedOptions::default()
            },
        )
        .unwrap(),
    );
    let h = Harness::with_parts(
        journey_api::Config::default(),
        clock.clone(),
        Arc::new(InMemoryStore::new(clock.clone())),
        embedded.clone(),
        Arc::new(MemoryJournal::new(clock.clone())),
    )
    .await;
    let (status, _, metrics) = readiness(&h).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("journey_ready 1"), "{metrics}");

    block_new_segments(&journey_embedded::log_dir(dir.path()));
    let mut failed = None;
    for c in 0..200 {
        let child = format!("c{c}");
        let appended = embedded
            .append(testkit::append(
                &child,
                ExpectedVersion::NoStream,
                vec![testkit::registered(&format!("{child}-reg"), "2015-06-01")],
            ))
            .await;
        if let Err(e) = appended {
            failed = Some(e);
            break;
        }
    }
    let failed = failed.expect("a write failed once the log needed a new segment");
    assert!(embedded.failure().is_some(), "{failed}");

    let (status, body, metrics) = readiness(&h).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the store cannot take writes"), "{body}");
    assert!(metrics.contains("journey_ready 0"), "{metrics}");
    assert!(metrics.contains("journey_unready{part=\"store\"} 1"), "{metrics}");
    assert!(
        metrics.contains("journey_unready{part=\"journal\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unwritable_journal_is_not_ready_either() {
    let dir = tempfile::tempdir().unwrap();
    let clock = testkit::clock();
    let journal: Arc<FileJournal> =
        Arc::new(FileJournal::open_with(dir.path(), clock.clone(), small_segments()).unwrap());
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let h = Harness::with_parts(
        journey_api::Config::default(),
        clock.clone(),
        store.clone(),
        store,
        journal.clone(),
    )
    .await;
    assert_eq!(readiness(&h).await.0, 200);

    block_new_segments(dir.path());
    let stream = SystemStream::parse("test").unwrap();
    let mut failed = false;
    for i in 0..200 {
        let record = NewRecord::new(
            "Filler",
            testkit::principal(),
            &serde_json::json!({ "i": i, "pad": "x".repeat(200) }),
        );
        if journal
            .append(&stream, ExpectedVersion::Any, vec![record])
            .await
            .is_err()
        {
            failed = true;
            break;
        }
    }
    assert!(failed, "a journal write failed once it needed a new segment");

    let (status, body, metrics) = readiness(&h).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the journal"), "{body}");
    assert!(
        metrics.contains("journey_unready{part=\"journal\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("journey_ready 0"), "{metrics}");
}
