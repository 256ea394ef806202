//! Keys kept in a durable journal: created and revoked by one process (the CLI), honoured by the next
//! (the server), with only hashes on disk.

use std::sync::Arc;

use journey_api::{KeyRing, NewKey, Role};
use journey_core::journal::Journal;
use journey_core::{PrincipalId, testkit};
use journey_embedded::FileJournal;

#[tokio::test]
async fn keys_survive_a_restart_and_only_their_hashes_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let clock = testkit::clock();
    let operator = PrincipalId::parse("cli").unwrap();
    let created = {
        let journal = FileJournal::open(dir.path(), clock.clone()).unwrap();
        let ring = KeyRing::new();
        let created = ring
            .create(
                &journal,
                operator.clone(),
                NewKey {
                    name: PrincipalId::parse("first-admin").unwrap(),
                    role: Role::Admin,
                    agency: None,
                    reviews_only: false,
                },
            )
            .await
            .unwrap();
        journal.close().unwrap();
        created
    };
    let secret = created.token.rsplit('_').next().unwrap().to_owned();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "the secret is on disk"
        );
    }

    let journal = Arc::new(FileJournal::open(dir.path(), clock.clone()).unwrap());
    let ring = KeyRing::new();
    ring.refresh(journal.as_ref()).await.unwrap();
    let principal = ring.authenticate(&created.token).unwrap();
    assert_eq!(principal.role, Role::Admin);
    assert_eq!(principal.name.as_str(), "first-admin");
    let mut wrong = created.token.clone();
    wrong.pop();
    wrong.push(if created.token.ends_with('0') { '1' } else { '0' });
    assert!(ring.authenticate(&wrong).is_err());
    ring.revoke(
        journal.as_ref(),
        operator,
        &created.key.key_id,
        Some("rotated".into()),
    )
    .await
    .unwrap();
    journal.close().unwrap();
    drop(journal);

    let journal = FileJournal::open(dir.path(), clock).unwrap();
    let ring = KeyRing::new();
    ring.refresh(&journal).await.unwrap();
    assert!(ring.authenticate(&created.token).is_err());
    let listed = ring.list();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
    assert!(journal.verify().await.unwrap().is_intact());
}
