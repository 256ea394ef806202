//! bincode helpers for the validated strings (identifiers and code lists). A leaf: it knows nothing of
//! records, so that `ids` and `codes` can decode themselves without reaching up into `encoding`.

/// Decodes a bincode string (a varint length and UTF-8 bytes, exactly as `String` encodes) and hands it to
/// `f` without allocating, when the decoder reads from a slice (as every stored record is decoded); from
/// other readers it reads the bytes into a buffer first. For the validated newtypes and code lists, whose
/// decoding would otherwise allocate a zeroed `String` only to check or look it up.
pub fn decode_str_with<D: bincode::de::Decoder, T>(
    decoder: &mut D,
    f: impl FnOnce(&str) -> std::result::Result<T, bincode::error::DecodeError>,
) -> std::result::Result<T, bincode::error::DecodeError> {
    use bincode::de::read::Reader;
    use bincode::error::DecodeError;
    let len = <u64 as bincode::Decode<D::Context>>::decode(decoder)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::OutsideUsizeRange(len))?;
    decoder.claim_container_read::<u8>(len)?;
    let mut f = Some(f);
    let borrowed = match decoder.reader().peek_read(len) {
        Some(bytes) => {
            let s = std::str::from_utf8(bytes).map_err(|inner| DecodeError::Utf8 { inner })?;
            Some(f.take().expect("called once")(s))
        }
        None => None,
    };
    match borrowed {
        Some(out) => {
            decoder.reader().consume(len);
            out
        }
        None => {
            let mut bytes = vec![0u8; len];
            decoder.reader().read(&mut bytes)?;
            let s = std::str::from_utf8(&bytes).map_err(|inner| DecodeError::Utf8 { inner })?;
            f.take().expect("called once")(s)
        }
    }
}
