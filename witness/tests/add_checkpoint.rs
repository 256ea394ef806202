//! `POST /add-checkpoint` and the monitoring `GET /<hex>/checkpoint` exactly as c2sp.org/tlog-witness
//! specifies them, through the witness's HTTP router: each status code in the specification's order, the
//! 409's content type and body, the cosignature a 200 carries, and the atomicity of the check and the store.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use journey_tlog::witness_protocol::AddCheckpointRequest;
use journey_tlog::{EMPTY_ROOT, NoteSignature, SignedCheckpoint};
use journey_witness::state::origin_hex;
use journey_witness::{AlertKind, Witness};
use tower::ServiceExt as _;

use common::{TestLog, cosigner, evidence_kept, witness};

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

async fn send(witness: &Arc<Witness>, method: &str, path: &str, body: Vec<u8>) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body))
        .unwrap();
    let response = journey_witness::http::router(witness.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

async fn push(witness: &Arc<Witness>, body: Vec<u8>) -> Answer {
    send(witness, "POST", "/add-checkpoint", body).await
}

/// The cosignature lines of a 200, verified under the witness's key over `signed`.
fn cosigned(answer: &Answer, signed: &SignedCheckpoint) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let text = std::str::from_utf8(&answer.body).unwrap();
    let lines: Vec<&str> = text.strip_suffix('\n').unwrap().split('\n').collect();
    assert_eq!(lines.len(), 1);
    let line = NoteSignature::parse_line(lines[0]).unwrap();
    journey_tlog::cosignature::verify(&cosigner().verifier_key(), signed.checkpoint(), &line).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_status_code_of_the_specification_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());

    // 400: not a request at all.
    assert_eq!(push(&w, b"hello".to_vec()).await.status, StatusCode::BAD_REQUEST);

    // 404: a log the witness does not know (checked before any signature).
    let mut stranger = TestLog::new("journey.example/log/other");
    stranger.grow(5, 0);
    assert_eq!(push(&w, stranger.request(0)).await.status, StatusCode::NOT_FOUND);

    // 403: the right origin, signed with another key.
    log.grow(10, 0);
    let forged = {
        let other_key = journey_tlog::NoteSigner::from_seed(
            journey_tlog::note::KeyName::parse("journey.example/log/1").unwrap(),
            &[1; 32],
        );
        let signed = SignedCheckpoint::sign(log.checkpoint_at(10), &other_key).unwrap();
        AddCheckpointRequest {
            old_size: 0,
            proof: vec![],
            checkpoint: signed,
        }
        .to_bytes()
    };
    assert_eq!(push(&w, forged).await.status, StatusCode::FORBIDDEN);

    // 400: old larger than the checkpoint's size.
    let too_old = AddCheckpointRequest {
        old_size: 11,
        proof: vec![],
        checkpoint: log.signed(),
    };
    assert_eq!(push(&w, too_old.to_bytes()).await.status, StatusCode::BAD_REQUEST);

    // 422: a non-empty proof from size 0.
    let proof_from_zero = AddCheckpointRequest {
        old_size: 0,
        proof: vec![[0; 32]],
        checkpoint: log.signed(),
    };
    assert_eq!(
        push(&w, proof_from_zero.to_bytes()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // 200: the first checkpoint (trusted on first sight), its cosignature verifying.
    let first = push(&w, log.request(0)).await;
    cosigned(&first, &log.signed());
    assert_eq!(first.content_type, "text/plain; charset=utf-8");

    // 409: a stale old size, with the latest size as the body and its own content type.
    log.grow(20, 0);
    let stale = push(&w, log.request(0)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.content_type, "text/x.tlog.size");
    assert_eq!(stale.body, b"10\n");

    // 422: a proof that does not verify.
    let mut bad = AddCheckpointRequest::parse(&log.request(10)).unwrap();
    bad.proof[0][0] ^= 1;
    assert_eq!(
        push(&w, bad.to_bytes()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // 422: a proof one hash short.
    let mut short = AddCheckpointRequest::parse(&log.request(10)).unwrap();
    short.proof.pop();
    assert_eq!(
        push(&w, short.to_bytes()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // 200: the right proof from the latest size.
    let second = push(&w, log.request(10)).await;
    let t = cosigned(&second, &log.signed());
    assert_eq!(t, 1_700_000_000);

    // 200 again for the same checkpoint with an empty proof (freshness): re-cosigned.
    let again = AddCheckpointRequest {
        old_size: 30,
        proof: vec![],
        checkpoint: log.signed(),
    };
    cosigned(&push(&w, again.to_bytes()).await, &log.signed());

    // A pushed proof that failed is kept as evidence but does not freeze the origin: anyone can replay a
    // signed checkpoint with a bad proof.
    assert!(w.frozen(&log.origin).is_none());
    assert_eq!(
        w.metrics().alerts(log.origin.as_str(), AlertKind::Inconsistent),
        0
    );
    assert_eq!(
        evidence_kept(dir.path(), &log.origin).len(),
        1,
        "one offence kept once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_zero_checkpoint_must_have_the_empty_root() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new("journey.example/log/1");
    let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());
    let empty = log.signed();
    assert_eq!(empty.checkpoint().root, EMPTY_ROOT);
    cosigned(
        &push(
            &w,
            AddCheckpointRequest {
                old_size: 0,
                proof: vec![],
                checkpoint: empty.clone(),
            }
            .to_bytes(),
        )
        .await,
        &empty,
    );
    // The log signs an empty tree with another root: 422, and it is the log's own misbehaviour.
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());
    let mut wrong = log.checkpoint_at(0);
    wrong.root = [1; 32];
    let signer = journey_tlog::NoteSigner::from_seed(
        journey_tlog::note::KeyName::parse("journey.example/log/1").unwrap(),
        &[9; 32],
    );
    let request = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: SignedCheckpoint::sign(wrong, &signer).unwrap(),
    };
    assert_eq!(
        push(&w, request.to_bytes()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(w.frozen(&log.origin).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_view_is_refused_alerted_and_freezes_the_origin_whatever_old_size_it_claims() {
    // With the right old size the specification's answer is 422; with a stale one, 409. Either way the
    // checkpoint itself proves the split view.
    for (claimed_old, expected) in [(20, StatusCode::UNPROCESSABLE_ENTITY), (0, StatusCode::CONFLICT)] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TestLog::new("journey.example/log/1");
        let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());
        log.grow(10, 0);
        cosigned(&push(&w, log.request(0)).await, &log.signed());
        let mut fork = log.clone();
        log.grow(10, 0);
        fork.grow(10, 7);
        assert_eq!(push(&w, log.request(10)).await.status, StatusCode::OK);
        // Size 20 again, another root, signed by the log.
        let split = AddCheckpointRequest {
            old_size: claimed_old,
            proof: vec![],
            checkpoint: fork.signed(),
        };
        assert_eq!(
            push(&w, split.to_bytes()).await.status,
            expected,
            "old {claimed_old}"
        );
        assert_eq!(w.metrics().alerts(log.origin.as_str(), AlertKind::SplitView), 1);
        let frozen = w.frozen(&log.origin).expect("frozen");
        assert!(frozen.contains("tree size 20"), "{frozen}");
        // Nothing is cosigned for the origin any more, even an honest extension.
        log.grow(5, 0);
        let refused = push(&w, log.request(20)).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(w.latest(&log.origin).unwrap().checkpoint().size, 20);
        // The evidence holds both checkpoints.
        let kept = evidence_kept(dir.path(), &log.origin);
        assert_eq!(kept.len(), 1);
        assert!(
            kept[0]
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("split_view-20-")
        );
        let offered = std::fs::read(kept[0].join("offered.checkpoint")).unwrap();
        assert_eq!(offered, fork.signed().to_bytes());
        let ours =
            SignedCheckpoint::parse(&std::fs::read(kept[0].join("cosigned.checkpoint")).unwrap()).unwrap();
        assert_eq!(ours.checkpoint(), log.signed_at(20).checkpoint());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_from_one_old_size_are_cosigned_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());
    log.grow(10, 0);
    assert_eq!(push(&w, log.request(0)).await.status, StatusCode::OK);
    // Sixteen extensions of size 10, to sizes 11..=26, all racing.
    let mut requests = Vec::new();
    for _ in 0..16 {
        log.grow(1, 0);
        requests.push(log.request(10));
    }
    let answers = futures_join(requests.into_iter().map(|body| {
        let w = w.clone();
        tokio::spawn(async move { push(&w, body).await.status })
    }))
    .await;
    let ok = answers.iter().filter(|s| **s == StatusCode::OK).count();
    let conflict = answers.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((ok, conflict), (1, 15), "{answers:?}");
    // Whichever won is the state, and it is not rolled back by the others.
    let latest = w.latest(&log.origin).unwrap().checkpoint().size;
    assert!((11..=26).contains(&latest));
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn monitoring_serves_the_latest_cosigned_checkpoint_by_the_hash_of_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    let w = Arc::new(witness(dir.path(), vec![log.trust()]).unwrap());
    let path = format!("/{}/checkpoint", origin_hex(&log.origin));
    assert_eq!(send(&w, "GET", &path, vec![]).await.status, StatusCode::NOT_FOUND);
    log.grow(300, 0);
    assert_eq!(push(&w, log.request(0)).await.status, StatusCode::OK);
    let answer = send(&w, "GET", &path, vec![]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let served = SignedCheckpoint::open(&answer.body, &log.vkey()).unwrap();
    assert_eq!(served.checkpoint().size, 300);
    let ours = served.verify_cosignatures(&[cosigner().verifier_key()]).unwrap();
    assert_eq!(ours.len(), 1);
    assert_eq!(
        send(&w, "GET", "/ABC/checkpoint", vec![]).await.status,
        StatusCode::NOT_FOUND
    );
    let metrics = send(&w, "GET", "/metrics", vec![]).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("journey_witness_cosigned_tree_size{origin=\"journey.example/log/1\"} 300"),
        "{text}"
    );
    assert!(
        text.contains("journey_witness_alerts_total{origin=\"journey.example/log/1\",kind=\"rollback\"} 0")
    );
}
