//! The witness's own signing key (cosignature/v1, type `0x04`), kept in a file in Go's private key layout
//! with the cosignature type byte: `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 ‖ seed)>`.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use journey_tlog::note::KeyName;
use journey_tlog::{Cosigner, VerifierKey};
use rand::TryRngCore as _;

use crate::error::{Error, Result};

/// Makes a new key named `name` from the operating system's random source and writes it to `path`, which
/// must not exist (mode 0600). Gives the verifier key to publish.
pub fn generate_key(name: &str, path: &Path) -> Result<VerifierKey> {
    let name = KeyName::parse(name).map_err(|e| Error::config("name", e.to_string()))?;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
    let cosigner = Cosigner::from_seed(name, &seed);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(cosigner.private_text().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::state::sync_dir(dir)?;
    }
    Ok(cosigner.verifier_key())
}

/// Reads the witness's key. A key file others can read is refused: whoever reads it can cosign as the
/// witness.
pub fn load_key(path: &Path) -> Result<Cosigner> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(Error::config(
            "key_file",
            format!(
                "{} can be read by other users (mode {:o}); make it 0600",
                path.display(),
                metadata.permissions().mode() & 0o777
            ),
        ));
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    Cosigner::from_private_text(text.trim_end()).map_err(|e| {
        Error::config(
            "key_file",
            format!(
                "{}: {e} (expected a key from `journey witness keygen`)",
                path.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_read_back_and_is_a_cosignature_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.key");
        let vkey = generate_key("partnership.example/witness-1", &path).unwrap();
        assert_eq!(vkey.key_type(), journey_tlog::note::KeyType::CosignatureV1);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_key(&path).unwrap().verifier_key(), vkey);
        // Never overwritten.
        assert!(matches!(generate_key("other", &path), Err(Error::Io { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load_key(&path), Err(Error::Config { .. })));
        assert!(generate_key("has space", &dir.path().join("x")).is_err());
    }
}
