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
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(BasicAuthError::TooLong);
    }
    let scheme_end = header.iter().position(|&b| b == b' ').ok_or(BasicAuthError::NotBasic)?;
    if !header[..scheme_end].eq_ignore_ascii_case(b"basic") {
        return Err(BasicAuthError::NotBasic);
    }
    let credentials = header[scheme_end..].trim_ascii();
    let decoded = STANDARD.decode(credentials).map_err(|_| BasicAuthError::BadBase64)?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or(BasicAuthError::NoSeparator)?;
    let id = decode_component(&decoded[..colon]).map_err(|_| BasicAuthError::BadEncoding)?;
    let secret = decode_component(&decoded[colon + 1..]).map_err(|_| BasicAuthError::BadEncoding)?;
    Ok((id.into_owned(), secret.into_owned()))
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
}
