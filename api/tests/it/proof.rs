//! Proof an outsider can check (ADR 10) over HTTP: checkpoints signed and served, witnesses' cosignatures
//! taken and served with them, tiles, consistency and inclusion proofs, and the child's export as a proof
//! bundle that verifies offline. Every proof is checked here with `journey_tlog`'s verifiers, never by
//! comparing with what the server computed.

use axum::body::Body;
use axum::http::{Method, Request};
use journey_api::access::{AccessEntry, access_stream};
use journey_api::{Config, Role};
use journey_core::proof::bundle::{later_body, verify_bundle};
use journey_core::store::StreamExport;
use journey_core::tlog::tiles::decode_entry_bundle;
use journey_core::tlog::{
    Cosigner, Hash, LeafEntry, Policy, RecordProof, SignedCheckpoint, VerifierKey,
    verify_checkpoint_with_policy, verify_consistency,
};
use journey_core::{ExpectedVersion, Version, testkit};
use serde_json::Value;

use crate::common::{CHILD, Harness, PROOF_ORIGIN_BASE, Reply};

const PURPOSE: (&str, &str) = ("x-journey-purpose", "proof test");

impl Harness {
    async fn get(&self, uri: &str, role: Option<Role>, headers: &[(&str, &str)]) -> Reply {
        let token = role.map(|r| self.token(r).to_owned());
        self.send(crate::common::request(
            Method::GET,
            uri,
            token.as_deref(),
            headers,
            None,
        ))
        .await
    }

    /// `POST /v1/checkpoints` as an admin: the size signed.
    async fn sign(&self) -> Value {
        let reply = self
            .call(
                Method::POST,
                "/v1/checkpoints",
                Some(self.token(Role::Admin)),
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    async fn vkey(&self) -> VerifierKey {
        let reply = self.get("/checkpoint/vkey", None, &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        VerifierKey::parse(reply.text.trim_end()).unwrap()
    }

    /// `POST /checkpoint/cosignatures` with a text body and no key, as a witness delivers.
    async fn deliver(&self, body: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/checkpoint/cosignatures")
            .header("content-type", "text/plain")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(request).await
    }

    async fn export(&self) -> StreamExport {
        let reply = self
            .get(
                &format!("/v1/children/{CHILD}/export"),
                Some(Role::Investigator),
                &[PURPOSE],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        serde_json::from_str(&reply.text).unwrap()
    }

    /// Appends one more contact to [`CHILD`], which has `version` records.
    async fn one_more(&self, version: u64) {
        use journey_core::store::EventStore;
        self.store
            .append(testkit::append(
                CHILD,
                ExpectedVersion::Exact(Version(version)),
                vec![testkit::contact(&format!("e-more-{version}"), "2023-12-21")],
            ))
            .await
            .unwrap();
    }

    /// The newest entry of the access log.
    async fn last_access(&self) -> AccessEntry {
        let stream = access_stream();
        let version = self.state.journal.stream_version(&stream);
        let records = self.state.journal.read_stream(&stream, version, 1).await.unwrap();
        AccessEntry::from_record(&records[0]).unwrap()
    }
}

/// The checkpoint a witness cosigned, as it serves it: the log's note with the witness's line.
fn cosigned(note: &str, witness: &Cosigner, timestamp: u64) -> String {
    let mut signed = SignedCheckpoint::parse(note.as_bytes()).unwrap();
    let line = witness.cosign(signed.checkpoint(), timestamp).unwrap();
    signed.add_signature(line).unwrap();
    signed.to_string()
}

fn policy(log: VerifierKey, witnesses: &[Cosigner], quorum: usize) -> Policy {
    Policy::from_keys(
        log,
        witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("w{i}"), w.verifier_key()))
            .collect(),
        quorum,
    )
    .unwrap()
}

fn b64_hashes(text: &str) -> Vec<Hash> {
    use base64::Engine as _;
    text.lines()
        .map(|l| {
            base64::engine::general_purpose::STANDARD
                .decode(l)
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_server_without_a_tree_says_so_on_every_proof_route() {
    let h = Harness::new().await;
    for (method, uri, role) in [
        (Method::GET, "/checkpoint", None),
        (Method::GET, "/checkpoint/vkey", None),
        (Method::GET, "/checkpoints/1", None),
        (Method::GET, "/tile/0/000.p/1", None),
        (Method::GET, "/proof/consistency?old=1&new=2", None),
        (Method::GET, "/proof/inclusion?position=1", Some(Role::Admin)),
        (Method::POST, "/v1/checkpoints", Some(Role::Admin)),
    ] {
        let reply = h.call(method, uri, role.map(|r| h.token(r)), None).await;
        let problem = reply.problem(503);
        assert!(
            problem["detail"].as_str().unwrap().contains("without a tree"),
            "{uri}: {}",
            reply.text
        );
    }
    // And the export is the chains alone.
    assert!(h.export().await.tlog.is_none());
}

#[tokio::test]
async fn an_admin_has_checkpoints_signed_and_anyone_reads_them() {
    let (h, _) = Harness::new().await.with_proofs(0);
    h.get("/checkpoint", None, &[]).await.problem(404);
    for role in [Role::Integrator, Role::PolicyAuthor, Role::Investigator] {
        h.call(Method::POST, "/v1/checkpoints", Some(h.token(role)), None)
            .await
            .problem(403);
    }
    let signed = h.sign().await;
    assert_eq!(signed["size"], 2);
    assert_eq!(signed["new"], true);
    assert_eq!(signed["origin"], format!("{PROOF_ORIGIN_BASE}/0000000000000000"));
    let again = h.sign().await;
    assert_eq!(
        (again["size"].clone(), again["new"].clone()),
        (2.into(), false.into())
    );

    let vkey = h.vkey().await;
    assert_eq!(vkey.name().as_str(), signed["origin"].as_str().unwrap());
    let latest = h.get("/checkpoint", None, &[]).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.content_type(), "text/plain; charset=utf-8");
    let opened = SignedCheckpoint::open(latest.text.as_bytes(), &vkey).unwrap();
    assert_eq!(opened.checkpoint().size, 2);
    assert_eq!(latest.text, signed["checkpoint"].as_str().unwrap());
    let at = h.get("/checkpoints/2", None, &[]).await;
    assert_eq!(at.text, latest.text);
    h.get("/checkpoints/3", None, &[]).await.problem(404);
    let bad = h.get("/checkpoints/02", None, &[]).await;
    bad.problem(400);
    assert_eq!(bad.fields(), ["size"]);
}

#[tokio::test]
async fn with_checkpoint_public_off_the_proof_reads_need_a_key() {
    let config = Config {
        checkpoint_public: false,
        ..Config::default()
    };
    let (h, _) = Harness::with_config(config).await.with_proofs(0);
    h.sign().await;
    for uri in [
        "/checkpoint",
        "/checkpoint/vkey",
        "/checkpoints/2",
        "/tile/0/000.p/2",
        "/proof/consistency?old=1&new=2",
    ] {
        h.get(uri, None, &[]).await.problem(401);
        let reply = h.get(uri, Some(Role::Integrator), &[]).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
    }
}

#[tokio::test]
async fn tiles_and_consistency_proofs_verify_against_the_signed_roots() {
    let (h, _) = Harness::new().await.with_proofs(0);
    let vkey = h.vkey().await;
    h.sign().await;
    let old = SignedCheckpoint::open(h.get("/checkpoint", None, &[]).await.text.as_bytes(), &vkey).unwrap();
    for version in 2..7 {
        h.one_more(version).await;
    }
    h.sign().await;
    let new = SignedCheckpoint::open(h.get("/checkpoint", None, &[]).await.text.as_bytes(), &vkey).unwrap();
    let (old, new) = (old.checkpoint(), new.checkpoint());
    assert_eq!((old.size, new.size), (2, 7));

    let proof = h.get("/proof/consistency?old=2&new=7", None, &[]).await;
    assert_eq!(proof.status, 200, "{}", proof.text);
    verify_consistency(2, 7, &old.root, &new.root, &b64_hashes(&proof.text)).unwrap();
    // A proof between other sizes does not pass for these roots.
    let other = h.get("/proof/consistency?old=3&new=7", None, &[]).await;
    assert!(verify_consistency(2, 7, &old.root, &new.root, &b64_hashes(&other.text)).is_err());

    // The level-0 tile is the leaf hashes of the entries the entry bundle gives, which are the records'
    // chain hashes; and they make the signed root.
    let tile = h.get("/tile/0/000.p/7", None, &[]).await;
    assert_eq!(tile.status, 200, "{}", tile.text);
    assert_eq!(tile.content_type(), "application/octet-stream");
    let raw = tile_bytes(&h, "/tile/0/000.p/7", None).await;
    assert_eq!(raw.len(), 7 * 32);
    let leaves: Vec<Hash> = raw.chunks(32).map(|c| c.try_into().unwrap()).collect();
    let mut hashes = journey_core::tlog::MemoryHashes::new();
    let mut builder = journey_core::tlog::TreeBuilder::new();
    for leaf in &leaves {
        builder.push(*leaf);
    }
    hashes.apply(&builder.take_appends()).unwrap();
    assert_eq!(journey_core::tlog::tree::root(7, &hashes).unwrap(), new.root);
    let entries = tile_bytes(&h, "/tile/entries/000.p/7", Some(Role::Investigator)).await;
    let export = h.export().await;
    for (i, entry) in decode_entry_bundle(&entries).unwrap().into_iter().enumerate() {
        let entry = LeafEntry::from_bytes(entry).unwrap();
        assert_eq!(entry.leaf_hash(), leaves[i]);
        assert_eq!(entry.stream_hash, export.records[i].chain.stream_hash);
    }

    // Entry bundles need a key that may verify the log; hash tiles do not.
    h.get("/tile/entries/000.p/7", None, &[]).await.problem(401);
    h.get("/tile/entries/000.p/7", Some(Role::Integrator), &[])
        .await
        .problem(403);
    h.get("/tile/0/000.p/8", None, &[]).await.problem(404);
    let bad = h.get("/tile/0/00a", None, &[]).await;
    bad.problem(400);
    assert_eq!(bad.fields(), ["path"]);
    let bad = h.get("/proof/consistency?old=01&new=7", None, &[]).await;
    bad.problem(400);
    assert_eq!(bad.fields(), ["old"]);
    h.get("/proof/consistency?old=2&new=8", None, &[])
        .await
        .problem(422);
}

async fn tile_bytes(h: &Harness, uri: &str, role: Option<Role>) -> Vec<u8> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let token = role.map(|r| h.token(r).to_owned());
    let request = crate::common::request(Method::GET, uri, token.as_deref(), &[], None);
    let response = h.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn an_inclusion_proof_is_a_read_of_the_childs_record_and_is_access_logged() {
    let (h, _) = Harness::new().await.with_proofs(0);
    h.sign().await;
    let vkey = h.vkey().await;
    let uri = "/proof/inclusion?position=2";
    let before = h.state.journal.stream_version(&access_stream());
    // Roles that may not read children, and an investigator without a purpose: refused, nothing logged.
    h.get(uri, None, &[]).await.problem(401);
    h.get(uri, Some(Role::Integrator), &[]).await.problem(403);
    h.get(uri, Some(Role::PolicyAuthor), &[]).await.problem(403);
    let no_purpose = h.get(uri, Some(Role::Investigator), &[]).await;
    no_purpose.problem(400);
    assert_eq!(no_purpose.fields(), ["X-Journey-Purpose"]);
    assert_eq!(h.state.journal.stream_version(&access_stream()), before);

    let reply = h.get(uri, Some(Role::Investigator), &[PURPOSE]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let logged = h.last_access().await;
    assert_eq!(logged.child_id.as_ref().map(|c| c.as_str()), Some(CHILD));
    assert_eq!(logged.view, "inclusion-proof");
    assert_eq!(logged.purpose.as_deref(), Some("proof test"));
    assert_eq!(logged.parameters["position"], "2");

    let proof = RecordProof::parse(reply.text.as_bytes()).unwrap();
    assert_eq!(proof.index, 1);
    let record = &h.export().await.records[1];
    let leaf = LeafEntry {
        stream_hash: record.chain.stream_hash,
        log_hash: record.chain.log_hash,
    }
    .leaf_hash();
    let verified = proof.verify(&leaf, &policy(vkey, &[], 0)).unwrap();
    assert_eq!(verified.checkpoint.size, 2);

    // No such record, or one no checkpoint covers yet: 404.
    h.get("/proof/inclusion?position=9", Some(Role::Admin), &[])
        .await
        .problem(404);
    h.one_more(2).await;
    h.get("/proof/inclusion?position=3", Some(Role::Admin), &[])
        .await
        .problem(404);
    h.get("/proof/inclusion?position=3&size=2", Some(Role::Admin), &[])
        .await
        .problem(422);
}

#[tokio::test]
async fn a_witness_delivers_cosignatures_without_a_key_and_they_are_served_with_the_checkpoint() {
    let (h, witnesses) = Harness::new().await.with_proofs(2);
    let note = h.sign().await["checkpoint"].as_str().unwrap().to_owned();
    let vkey = h.vkey().await;

    let reply = h.deliver(&cosigned(&note, &witnesses[0], 1_700_000_000)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let served = h.get("/checkpoint", None, &[]).await.text;
    assert_eq!(reply.text, served);
    let served = SignedCheckpoint::open(served.as_bytes(), &vkey).unwrap();
    let checked = verify_checkpoint_with_policy(&served, &policy(vkey.clone(), &witnesses, 1)).unwrap();
    assert_eq!(checked.cosignatures[0].witness, "w0");
    // Both witnesses are needed for a quorum of two, and the second is not there yet.
    assert!(verify_checkpoint_with_policy(&served, &policy(vkey.clone(), &witnesses, 2)).is_err());

    // A cosignature that does not verify, one of a witness this server does not know, and one of a
    // checkpoint this log never signed are refused; so is a delivery too large to be one.
    let good = cosigned(&note, &witnesses[1], 1_700_000_100);
    let mut broken = good.clone().into_bytes();
    let at = broken.len() - 10;
    broken[at] = if broken[at] == b'A' { b'B' } else { b'A' };
    h.deliver(std::str::from_utf8(&broken).unwrap())
        .await
        .problem(422);
    let stranger = Cosigner::from_seed(
        journey_core::tlog::KeyName::parse("stranger.test/witness").unwrap(),
        &[99; 32],
    );
    let unknown = h.deliver(&cosigned(&note, &stranger, 1)).await;
    unknown.problem(422);
    assert!(
        unknown.text.contains("no cosignature of a configured witness"),
        "{}",
        unknown.text
    );
    h.deliver(&good.replacen("\n2\n", "\n1\n", 1)).await.problem(404);
    h.deliver(&"x".repeat(17 * 1024)).await.problem(413);

    // The second witness's bare line, for the latest checkpoint: now both are served.
    let bare = good.lines().last().unwrap().to_owned() + "\n";
    assert_eq!(h.deliver(&bare).await.status, 200);
    let served = h.get("/checkpoint", None, &[]).await.text;
    let served = SignedCheckpoint::open(served.as_bytes(), &vkey).unwrap();
    verify_checkpoint_with_policy(&served, &policy(vkey, &witnesses, 2)).unwrap();
}

#[tokio::test]
async fn the_childs_export_is_a_proof_bundle_that_verifies_offline() {
    let (h, witnesses) = Harness::new().await.with_proofs(1);
    let vkey = h.vkey().await;
    // No checkpoint yet: the export says so, in words, and proves nothing.
    let export = h.export().await;
    let tlog = export.tlog.as_ref().unwrap();
    assert!(tlog.summary.contains("no checkpoint covers"), "{}", tlog.summary);
    assert!(export.records.iter().all(|r| r.tlog_proof.is_none()));

    let note = h.sign().await["checkpoint"].as_str().unwrap().to_owned();
    h.deliver(&cosigned(&note, &witnesses[0], 1_700_000_000)).await;
    let witnessed = policy(vkey.clone(), &witnesses, 1);
    let export = h.export().await;
    let report = verify_bundle(&export, &witnessed, None).unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(report.checkpoints.len(), 1);
    assert_eq!(report.checkpoints[0].size, 2);
    assert_eq!(report.checkpoints[0].cosigned_by[0].0, "w0");
    assert!(export.tlog.as_ref().unwrap().summary.contains("cosigned by w0"));

    // A newer record is proven in the latest checkpoint, not yet witnessed, and the bundle says so; the
    // two checkpoints are shown consistent.
    h.one_more(2).await;
    h.sign().await;
    let export = h.export().await;
    let summary = &export.tlog.as_ref().unwrap().summary;
    assert!(summary.contains("not yet cosigned"), "{summary}");
    assert_eq!(export.tlog.as_ref().unwrap().checkpoints.len(), 2);
    assert!(verify_bundle(&export, &witnessed, None).is_err());
    let report = verify_bundle(&export, &policy(vkey.clone(), &witnesses, 0), None).unwrap();
    assert_eq!(
        report.checkpoints.iter().map(|c| c.size).collect::<Vec<_>>(),
        [2, 3]
    );

    // Checked against a later checkpoint, through a consistency proof the server gives.
    let first = h.export().await;
    for version in 3..6 {
        h.one_more(version).await;
    }
    h.sign().await;
    let later = SignedCheckpoint::open(h.get("/checkpoint", None, &[]).await.text.as_bytes(), &vkey).unwrap();
    let proof = h.get("/proof/consistency?old=3&new=6", None, &[]).await.text;
    let body = later_body(3, b64_hashes(&proof), later.clone());
    let lenient = policy(vkey.clone(), &witnesses, 0);
    let report = verify_bundle(&first, &lenient, Some(&body)).unwrap();
    assert_eq!(report.later.unwrap().size, 6);
    // A proof from another size is refused, naming the bundle's checkpoint.
    let wrong = h.get("/proof/consistency?old=2&new=6", None, &[]).await.text;
    let error = verify_bundle(&first, &lenient, Some(&later_body(3, b64_hashes(&wrong), later))).unwrap_err();
    assert!(error.to_string().contains("tree size 3"), "{error}");

    // A record changed in the bundle no longer proves.
    let mut tampered = h.export().await;
    tampered.records[0].chain.stream_hash[0] ^= 1;
    assert!(verify_bundle(&tampered, &lenient, None).is_err());
}

/// The chronology's row of the record at `position`.
fn row(page: &str, position: u64) -> &str {
    let start = page
        .find(&format!("data-position=\"{position}\""))
        .unwrap_or_else(|| panic!("no row for position {position}: {page}"));
    let end = start + page[start..].find("</tr>").unwrap();
    &page[start..end]
}

/// The page's sentence about what proves the group of records whose anchor is `anchor`.
fn proof_group<'a>(page: &'a str, anchor: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{anchor}\""))
        .unwrap_or_else(|| panic!("no proof group {anchor}: {page}"));
    let end = start + page[start..].find("</li>").unwrap();
    &page[start..end]
}

#[tokio::test]
async fn the_timeline_page_says_which_checkpoint_and_witnesses_each_record_is_proven_against() {
    let (h, witnesses) = Harness::new().await.with_proofs(2);
    let uri = format!("/v1/children/{CHILD}/timeline");
    let page = h.get(&uri, Some(Role::Investigator), &[PURPOSE]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let origin = format!("{PROOF_ORIGIN_BASE}/0000000000000000");
    assert!(
        proof_group(&page.text, "proof-pending").contains(&format!(
            "The 2 records shown at log positions 1 to 2: not yet in a signed checkpoint of log {origin}."
        )),
        "{}",
        page.text
    );
    for position in [1, 2] {
        assert!(row(&page.text, position).contains("not yet in a signed checkpoint"));
    }

    // Positions 1 and 2 in a checkpoint w0 cosigned, 3 in a later one no witness has seen yet, 4 in none.
    let note = h.sign().await["checkpoint"].as_str().unwrap().to_owned();
    h.deliver(&cosigned(&note, &witnesses[0], 1_700_000_000)).await;
    h.one_more(2).await;
    assert_eq!(h.sign().await["size"], 3);
    h.one_more(3).await;
    let page = h.get(&uri, Some(Role::Investigator), &[PURPOSE]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let text = &page.text;
    let witnessed = proof_group(text, "proof-2");
    assert!(
        witnessed.contains(&format!(
            "The 2 records shown at log positions 1 to 2: Proven in log {origin} at tree size 2 (root "
        )) && witnessed.contains("cosigned by w0 at 2023-11-14T22:13:20"),
        "{witnessed}"
    );
    let signed = proof_group(text, "proof-3");
    assert!(
        signed.contains(&format!(
            "The record shown at log position 3: Proven in log {origin} at tree size 3 (root "
        )) && signed.contains("not yet cosigned by any witness"),
        "{signed}"
    );
    assert!(
        proof_group(text, "proof-pending").contains(&format!(
            "The record shown at log position 4: not yet in a signed checkpoint of log {origin}."
        )),
        "{text}"
    );
    for (position, words) in [
        (1, "href=\"#proof-2\">checkpoint at tree size 2, witnessed by w0<"),
        (2, "href=\"#proof-2\">checkpoint at tree size 2, witnessed by w0<"),
        (3, "href=\"#proof-3\">checkpoint at tree size 3, no witness yet<"),
        (4, "href=\"#proof-pending\">not yet in a signed checkpoint<"),
    ] {
        assert!(row(text, position).contains(words), "{}", row(text, position));
    }
}

#[tokio::test]
async fn a_damaged_tree_is_rebuilt_and_the_client_is_told_to_come_back() {
    let (h, _) = Harness::new().await.with_proofs(0);
    h.sign().await;
    h.one_more(2).await;
    // Someone with disk access changes a leaf below the last checkpoint: signing is refused while the tree
    // is rebuilt from the log, with a Retry-After, and then goes ahead.
    h.store.tamper_with_tree(0);
    let refused = h
        .call(Method::POST, "/v1/checkpoints", Some(h.token(Role::Admin)), None)
        .await;
    let problem = refused.problem(503);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not extend the checkpoint signed at tree size 2"),
        "{}",
        refused.text
    );
    assert_eq!(refused.headers["retry-after"], "5");
    assert_eq!(h.sign().await["size"], 3);
    // A proof made from a damaged tree is not served: the tree is rebuilt, and the client comes back.
    h.store.tamper_with_tree(1);
    let refused = h.get("/proof/inclusion?position=1", Some(Role::Admin), &[]).await;
    refused.problem(503);
    assert_eq!(refused.headers["retry-after"], "5");
    let reply = h.get("/proof/inclusion?position=1", Some(Role::Admin), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}
