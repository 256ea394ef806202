//! Every read of a child's record is in the access log, written before the data is returned.

use axum::http::Method;
use journey_api::Role;
use journey_api::access::access_stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::{BoxFuture, FutureExt};
use journey_api::Config;
use journey_core::ExpectedVersion;
use journey_core::journal::{
    Journal, JournalHead, JournalRecord, JournalVerification, MemoryJournal, NewRecord, SystemStream,
};
use journey_core::store::InMemoryStore;
use journey_core::testkit;

use crate::common::{CHILD, Harness, request};

#[tokio::test]
async fn every_read_is_logged_with_who_which_child_which_view_and_why() {
    let h = Harness::new().await;
    let investigator = h.token(Role::Investigator);
    for view in ["events", "summary", "chronology", "export"] {
        let reply = h
            .send(request(
                Method::GET,
                &format!("/v1/children/{CHILD}/{view}"),
                Some(investigator),
                &[("x-journey-purpose", "section 47 review, case 88")],
                None,
            ))
            .await;
        assert_eq!(reply.status, 200, "{view}: {}", reply.text);
    }
    // An admin reads the same child without a stated purpose: logged too.
    let admin = h.token(Role::Admin);
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/v1/children/{CHILD}/summary"),
            Some(admin),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(h.state.journal.stream_version(&access_stream()), 5);

    let log = h
        .call(
            Method::GET,
            &format!("/v1/access-log?child_id={CHILD}&principal=the-investigator"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let entries = log.body["entries"].as_array().unwrap();
    let views: Vec<&str> = entries.iter().map(|e| e["view"].as_str().unwrap()).collect();
    assert_eq!(views, ["events", "summary", "chronology", "export"]);
    for e in entries {
        assert_eq!(e["principal"], "the-investigator");
        assert_eq!(e["role"], "investigator");
        assert_eq!(e["child_id"], CHILD);
        assert_eq!(e["purpose"], "section 47 review, case 88");
        assert!(e["recorded_at"].is_string());
    }
    assert_eq!(entries[1]["parameters"]["on"].as_str().unwrap().len(), 10);

    let by_admin = h
        .call(
            Method::GET,
            "/v1/access-log?principal=the-admin",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(by_admin.body["entries"].as_array().unwrap().len(), 1);
    let other_child = h
        .call(
            Method::GET,
            "/v1/access-log?child_id=someone-else",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(other_child.body["entries"].as_array().unwrap().len(), 0);
    // Paging.
    let page = h
        .call(Method::GET, "/v1/access-log?limit=2", Some(admin), None)
        .await;
    assert_eq!(page.body["entries"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["next"], 3);
    // The journal holding the log verifies.
    let verified = h.state.journal.verify().await.unwrap();
    assert!(verified.is_intact());
}

#[tokio::test]
async fn reads_of_the_whole_log_name_the_children_returned() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin);
    assert_eq!(
        h.call(Method::GET, "/v1/log", Some(admin), None).await.status,
        200
    );
    let log = h
        .call(
            Method::GET,
            &format!("/v1/access-log?child_id={CHILD}"),
            Some(admin),
            None,
        )
        .await;
    let entries = log.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", log.text);
    assert_eq!(entries[0]["view"], "log");
    assert_eq!(entries[0]["children"][0], CHILD);
}

#[tokio::test]
async fn refused_reads_are_not_answered_and_writes_are_not_reads() {
    let h = Harness::new().await;
    let reply = h
        .call(
            Method::GET,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::PolicyAuthor)),
            None,
        )
        .await;
    reply.problem(403);
    assert_eq!(h.state.journal.stream_version(&access_stream()), 0);
}

/// A journal whose appends to the access stream fail when told to (a full disk, say).
#[derive(Debug)]
struct FailingAccess {
    inner: MemoryJournal,
    fail: AtomicBool,
}

impl Journal for FailingAccess {
    fn append(
        &self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
    ) -> BoxFuture<'static, journey_core::Result<Vec<JournalRecord>>> {
        if self.fail.load(Ordering::SeqCst) && *stream == access_stream() {
            let e = journey_core::Error::Io(std::io::Error::other("no space left on device"));
            return async move { Err(e) }.boxed();
        }
        self.inner.append(stream, expected, records)
    }
    fn read_stream(
        &self,
        stream: &SystemStream,
        from: u64,
        limit: usize,
    ) -> BoxFuture<'static, journey_core::Result<Vec<JournalRecord>>> {
        self.inner.read_stream(stream, from, limit)
    }
    fn stream_version(&self, stream: &SystemStream) -> u64 {
        self.inner.stream_version(stream)
    }
    fn head(&self) -> JournalHead {
        self.inner.head()
    }
    fn verify(&self) -> BoxFuture<'static, journey_core::Result<JournalVerification>> {
        self.inner.verify()
    }
}

#[tokio::test]
async fn no_access_record_no_data() {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let journal = Arc::new(FailingAccess {
        inner: MemoryJournal::new(clock.clone()),
        fail: AtomicBool::new(false),
    });
    let h = Harness::with_parts(Config::default(), clock, store.clone(), store, journal.clone()).await;
    journal.fail.store(true, Ordering::SeqCst);
    for view in ["events", "summary", "chronology", "export"] {
        let reply = h
            .send(request(
                Method::GET,
                &format!("/v1/children/{CHILD}/{view}"),
                Some(h.token(Role::Investigator)),
                &[("x-journey-purpose", "test")],
                None,
            ))
            .await;
        reply.problem(500);
        assert!(!reply.text.contains("e-reg"), "{}", reply.text);
        assert!(!reply.text.contains("no space"), "{}", reply.text);
    }
    let reply = h
        .call(Method::GET, "/v1/log", Some(h.token(Role::Admin)), None)
        .await;
    reply.problem(500);
    assert!(!reply.text.contains("e-reg"));
}
