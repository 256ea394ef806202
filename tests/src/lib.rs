//! Black-box tests live in `tests/tests/`; this library holds what they share with the helper binaries in
//! `src/bin/`.

pub mod crash {
    //! The protocol between `journey-crash-writer` and `tests/crash.rs`.
    //!
    //! The writer prints one line per *acknowledged* append, after its future resolved `Ok`:
    //!
    //! ```text
    //! ack <child_id> <event_id>,<event_id>,...
    //! ```
    //!
    //! Every event id names its batch and its place in it, `<child_id>.b<batch>.<i>of<k>`, so that whoever
    //! reads the log back can tell, for any event found, which other events must be there with it.

    use journey_embedded::EmbeddedOptions;
    use journey_embedded::log::{LogOptions, SyncMode};

    /// Small segments, so that the log rotates every few hundred events and kills land during rotations too.
    pub const SEGMENT_BYTES: u64 = 64 * 1024;

    /// The options both the writer and the checker open the store with: each child's content sealed under
    /// its own key (issue #19), so that every crash is one during sealed appends, with new children's keys
    /// being made as the writer goes.
    pub fn options() -> EmbeddedOptions {
        EmbeddedOptions {
            kek: Some(std::sync::Arc::new(
                journey_core::content_keys::LocalKek::from_bytes([0x4b; 32]),
            )),
            log: LogOptions {
                segment_max_bytes: SEGMENT_BYTES,
                sync: SyncMode::Data,
                ..LogOptions::default()
            },
            ..EmbeddedOptions::default()
        }
    }

    /// The children `journey-crash-destroyer` registers and then destroys one by one.
    pub fn doomed_child(k: usize) -> String {
        format!("doomed-{k:05}")
    }

    /// Children that every appender writes to with `ExpectedVersion::Any`.
    pub const SHARED_CHILDREN: usize = 4;

    pub fn shared_child(k: usize) -> String {
        format!("shared-{k}")
    }

    /// The id of event `i` (1-based) of `k` in the batch `batch` of `child`.
    pub fn event_id(child: &str, batch: &str, i: usize, k: usize) -> String {
        format!("{child}.b{batch}.{i}of{k}")
    }

    /// Which batch an event belongs to, and its place `(i, k)` in it. `None` if the id is not of this form.
    pub fn parse_event_id(id: &str) -> Option<(&str, usize, usize)> {
        let (batch, place) = id.rsplit_once('.')?;
        let (i, k) = place.split_once("of")?;
        let (i, k) = (i.parse().ok()?, k.parse().ok()?);
        (1..=k).contains(&i).then_some((batch, i, k))
    }

    /// One acknowledged append, as printed by the writer.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Ack {
        pub child: String,
        pub event_ids: Vec<String>,
    }

    impl Ack {
        pub fn line(&self) -> String {
            format!("ack {} {}", self.child, self.event_ids.join(","))
        }

        pub fn parse(line: &str) -> Option<Ack> {
            let mut words = line.split(' ');
            if words.next()? != "ack" {
                return None;
            }
            let child = words.next()?.to_owned();
            let event_ids: Vec<String> = words.next()?.split(',').map(str::to_owned).collect();
            if words.next().is_some() || event_ids.iter().any(String::is_empty) {
                return None;
            }
            Some(Ack { child, event_ids })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ids_and_lines_round_trip() {
            let id = event_id("r1-t03-c7", "12", 2, 3);
            assert_eq!(parse_event_id(&id), Some(("r1-t03-c7.b12", 2, 3)));
            assert_eq!(parse_event_id("x.b1.4of3"), None);
            assert_eq!(parse_event_id("x.b1.0of3"), None);
            let ack = Ack {
                child: "c".into(),
                event_ids: vec!["a".into(), "b".into()],
            };
            assert_eq!(Ack::parse(&ack.line()), Some(ack));
            assert_eq!(Ack::parse("ack c"), None);
            assert_eq!(Ack::parse("ack c a,,b"), None);
        }
    }
}

pub mod validators {
    //! The DfE's validators (Python packages in a virtual environment that `scripts/validators/setup`
    //! makes) as the validator tests find them.

    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The repository's root.
    pub fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is in the repository")
            .to_path_buf()
    }

    /// The virtual environment's Python, if `module` (`lac_validator`, `cin_validator`) imports there.
    /// Otherwise says so loudly and returns `None` (the test then passes without checking anything), or,
    /// with `JOURNEY_REQUIRE_VALIDATORS` set (CI), panics.
    pub fn python(module: &str, package: &str) -> Option<PathBuf> {
        let venv = std::env::var_os("JOURNEY_VALIDATORS_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target/validators-venv"));
        let python = venv.join("bin/python");
        let ok = python.is_file()
            && Command::new(&python)
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
        let msg = format!(
            "\n\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED: the DfE validator {package} is not installed in {}.\n\
             !! Install it with ./scripts/validators/setup (./scripts/test does this) and run again.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            venv.display()
        );
        if std::env::var_os("JOURNEY_REQUIRE_VALIDATORS").is_some() {
            panic!("{msg}");
        }
        eprintln!("{msg}");
        None
    }
}
