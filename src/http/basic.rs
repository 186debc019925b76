//! `Authorization: Basic` for client credentials (RFC 6749 §2.3.1: both parts form-encoded).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::form::{decode_component, encode_form};

/// Why an `Authorization: Basic` header could not be read (TK-05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BasicAuthError {
    /// The scheme is not `Basic`.
    #[error("the Authorization header does not use the Basic scheme")]
    NotBasic,
    /// The credentials are not canonical padded base64.
    #[error("the Basic credentials are not valid base64")]
    BadBase64,
    /// The decoded credentials have no `:`.
    #[error("the Basic credentials have no ':' separator")]
    NoSeparator,
    /// The client id or secret is not valid form-urlencoded UTF-8.
    #[error("the Basic credentials are not valid form-urlencoded UTF-8")]
    BadEncoding,
    /// The header is longer than any sane credential pair.
    #[error("the Authorization header is too long")]
    TooLong,
}

/// Largest `Authorization` header read, in bytes.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Reads `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1, TK-05).
///
/// The scheme compares case-insensitively; the decoded text is split at the first `:` and each
/// half is then form-url-decoded, so ids and secrets may contain `:` when the client encoded them.
pub fn parse_basic_auth(header: &[u8]) -> Result<(String, String), BasicAuthError> {
    read_basic_auth(header, |id, secret| (id.to_owned(), secret.to_owned()))
}

/// [`parse_basic_auth`], lending the id and secret to `read` instead of copying them: the usual
/// header is decoded on the stack, and only what `read` keeps is allocated.
pub(crate) fn read_basic_auth<T>(header: &[u8], read: impl FnOnce(&str, &str) -> T) -> Result<T, BasicAuthError> {
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(BasicAuthError::TooLong);
    }
    let scheme_end = header.iter().position(|&b| b == b' ').ok_or(BasicAuthError::NotBasic)?;
    if !header[..scheme_end].eq_ignore_ascii_case(b"basic") {
        return Err(BasicAuthError::NotBasic);
    }
    let credentials = header[scheme_end..].trim_ascii();
    let mut stack = [0u8; 192];
    let heap;
    let decoded = if credentials.len().div_ceil(4) * 3 <= stack.len() {
        let len = STANDARD.decode_slice(credentials, &mut stack).map_err(|_| BasicAuthError::BadBase64)?;
        &stack[..len]
    } else {
        heap = STANDARD.decode(credentials).map_err(|_| BasicAuthError::BadBase64)?;
        &heap[..]
    };
    let colon = decoded.iter().position(|&b| b == b':').ok_or(BasicAuthError::NoSeparator)?;
    let id = decode_component(&decoded[..colon]).map_err(|_| BasicAuthError::BadEncoding)?;
    let secret = decode_component(&decoded[colon + 1..]).map_err(|_| BasicAuthError::BadEncoding)?;
    Ok(read(&id, &secret))
}

/// Builds the `Authorization: Basic` value a client sends for `client_id` and `secret`.
///
/// Both halves are form-urlencoded first, as RFC 6749 §2.3.1 requires.
pub fn basic_auth_header(client_id: &str, secret: &str) -> String {
    let id = encode_form(&[("", client_id)]);
    let secret = encode_form(&[("", secret)]);
    // encode_form of ("", v) yields "=v"; strip the separator.
    let raw = format!("{}:{}", &id[1..], &secret[1..]);
    format!("Basic {}", STANDARD.encode(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tk05_basic_auth_vectors() {
        assert_eq!(
            basic_auth_header("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw"),
            "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"
        );
        assert_eq!(
            parse_basic_auth(b"Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3").unwrap(),
            ("s6BhdRkqt3".to_owned(), "7Fjfp0ZBr1KtDRbnfVdmIw".to_owned())
        );
        assert_eq!(basic_auth_header("client:id", "s3cr+t/ =%"), "Basic Y2xpZW50JTNBaWQ6czNjciUyQnQlMkYrJTNEJTI1");
        assert_eq!(
            parse_basic_auth(b"basic Y2xpZW50JTNBaWQ6czNjciUyQnQlMkYrJTNEJTI1").unwrap(),
            ("client:id".to_owned(), "s3cr+t/ =%".to_owned())
        );
    }

    #[test]
    fn tk05_malformed_basic_headers_are_refused() {
        assert_eq!(parse_basic_auth(b"Bearer abc"), Err(BasicAuthError::NotBasic));
        assert_eq!(parse_basic_auth(b"Basic"), Err(BasicAuthError::NotBasic));
        assert_eq!(parse_basic_auth(b"Basic !!!"), Err(BasicAuthError::BadBase64));
        assert_eq!(parse_basic_auth(b"Basic YWJj"), Err(BasicAuthError::NoSeparator));
        let long = [b'a'; 5000];
        assert_eq!(parse_basic_auth(&long), Err(BasicAuthError::TooLong));
    }

    /// The reader as it was before it decoded on the stack: the reference the fast path must
    /// match on every input, either side of the stack buffer's size.
    fn reference(header: &[u8]) -> Result<(String, String), BasicAuthError> {
        if header.len() > MAX_AUTHORIZATION_LEN {
            return Err(BasicAuthError::TooLong);
        }
        let scheme_end = header.iter().position(|&b| b == b' ').ok_or(BasicAuthError::NotBasic)?;
        if !header[..scheme_end].eq_ignore_ascii_case(b"basic") {
            return Err(BasicAuthError::NotBasic);
        }
        let decoded = STANDARD.decode(header[scheme_end..].trim_ascii()).map_err(|_| BasicAuthError::BadBase64)?;
        let colon = decoded.iter().position(|&b| b == b':').ok_or(BasicAuthError::NoSeparator)?;
        let id = decode_component(&decoded[..colon]).map_err(|_| BasicAuthError::BadEncoding)?;
        let secret = decode_component(&decoded[colon + 1..]).map_err(|_| BasicAuthError::BadEncoding)?;
        Ok((id.into_owned(), secret.into_owned()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2048, failure_persistence: None, ..Default::default() })]
        #[test]
        fn tk05_stack_and_heap_decoding_read_every_header_alike(
            raw in proptest::collection::vec(proptest::sample::select(b"ab:%2A+= \xff".to_vec()), 0..300),
            cut in 0usize..400,
            noise in proptest::sample::select(b"=!A \x00".to_vec()),
        ) {
            let encoded = STANDARD.encode(&raw);
            // Valid headers of every length around the stack buffer, and damaged ones.
            let mut damaged = encoded.clone().into_bytes();
            if !damaged.is_empty() {
                let at = cut % damaged.len();
                damaged[at] = noise;
            }
            for credentials in [encoded.as_bytes(), &damaged[..], &encoded.as_bytes()[..cut.min(encoded.len())]] {
                let header = [&b"Basic "[..], credentials].concat();
                proptest::prop_assert_eq!(parse_basic_auth(&header), reference(&header));
            }
        }
    }
}
