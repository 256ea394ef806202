//! The small text rules every C2SP format shares: decimals without leading zeros, standard padded base64,
//! one hash per line. Strict, so that one value has one spelling and a signed text cannot be re-spelled.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};
use crate::hash::Hash;

/// Base64 of RFC 4648 §4 with padding. The engine also refuses non-zero trailing bits, so each byte string
/// has exactly one accepted encoding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn b64_decode(field: &str, text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|e| Error::malformed(field, format!("not standard padded base64 ({e})")))
}

/// A 32-byte hash in base64 (44 characters).
pub(crate) fn parse_hash(field: &str, text: &str) -> Result<Hash> {
    let bytes = b64_decode(field, text)?;
    <Hash>::try_from(bytes.as_slice()).map_err(|_| {
        Error::malformed(
            field,
            format!("a hash is 32 bytes, this decodes to {}", bytes.len()),
        )
    })
}

/// An ASCII decimal with no leading zeros (`0` alone for zero) that fits in a u64.
pub(crate) fn parse_decimal(field: &str, text: &str) -> Result<u64> {
    let rule = "an ASCII decimal without leading zeros";
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::malformed(field, format!("{text:?} is not {rule}")));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(Error::malformed(field, format!("{text:?} has a leading zero")));
    }
    text.parse()
        .map_err(|_| Error::malformed(field, format!("{text:?} does not fit in 64 bits")))
}

/// Splits text made of newline-terminated lines into its lines (without the newlines). Text that does not
/// end in a newline is refused: every C2SP line format terminates each line.
pub(crate) fn lines<'a>(field: &str, text: &'a str) -> Result<Vec<&'a str>> {
    let Some(body) = text.strip_suffix('\n') else {
        return Err(Error::malformed(field, "must end with a newline"));
    };
    Ok(body.split('\n').collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_have_one_spelling() {
        assert_eq!(parse_decimal("n", "0").unwrap(), 0);
        assert_eq!(parse_decimal("n", "18446744073709551615").unwrap(), u64::MAX);
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1e3",
            "18446744073709551616",
            "１",
        ] {
            assert!(parse_decimal("n", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn base64_is_strict_and_hashes_are_32_bytes() {
        let hash = [0xff; 32];
        let good = b64_encode(&hash);
        assert_eq!(good, format!("{}8=", "/".repeat(42)));
        assert_eq!(parse_hash("h", &good).unwrap(), hash);
        // Unpadded, URL-safe alphabet, whitespace, wrong length, non-zero trailing bits.
        for bad in [
            good.trim_end_matches('=').to_owned(),
            good.replace('/', "_"),
            format!(" {good}"),
            format!("{good}\n"),
            b64_encode(&[0xff; 31]),
            b64_encode(&[0xff; 33]),
            good.replace('8', "9"),
        ] {
            assert!(parse_hash("h", &bad).is_err(), "{bad:?} accepted");
        }
    }
}
