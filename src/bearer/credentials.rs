//! Reading the access token of a request (RS-01, RS-02; RFC 9449 §7.1): the `Authorization`
//! header's scheme and `b64token`, refused when the header is repeated or the token also
//! arrives in a form body.

use super::BearerError;
use crate::bytes::ByteSet;
use crate::http::{Request, decode_component};
use crate::jose::MAX_TOKEN_BYTES;

/// The credential scheme of an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1): the token with a proof of its key.
    Dpop,
}

/// The scheme and token of `Authorization: Bearer <token>` or `Authorization: DPoP <token>`
/// (RS-01, RFC 9449 §7.1), with [`read_bearer_token`]'s rules for the token and for repeats.
pub fn read_access_token<'a>(request: &Request<'a>) -> Result<(Scheme, &'a str), BearerError> {
    let (scheme, token) = read_credentials(request, true)?;
    Ok((scheme, token_text(token)?))
}

/// The `b64token` of `Authorization: Bearer <token>` (RS-01): `"Bearer" 1*SP b64token`, the
/// scheme compared case-insensitively; the token is
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, at most
/// [`MAX_TOKEN_BYTES`] long.
///
/// Tokens in the URI query are never read (RS-02). A token also sent in a form body, next to
/// the header, is two methods and refused, as are two `Authorization` headers. An empty
/// `Authorization` header is no header.
pub fn read_bearer_token<'a>(request: &Request<'a>) -> Result<&'a str, BearerError> {
    let (_, token) = read_credentials(request, false)?;
    token_text(token)
}

/// The characters of a `b64token` before its `=` padding (RFC 6750 §2.1).
const TOKEN68: ByteSet = ByteSet::alphanumeric_and(b"-._~+/");

/// The scheme and the token of `Authorization: Bearer <token>`, or `DPoP <token>` when `dpop`
/// is accepted, the scheme compared case-insensitively; any other scheme (Basic, ...) is no
/// credential at all. The token is left as bytes, all of them ASCII: the bearer path hashes them
/// as they are, and only what needs text pays for the UTF-8 check ([`token_text`]).
pub(super) fn read_credentials<'a>(request: &Request<'a>, dpop: bool) -> Result<(Scheme, &'a [u8]), BearerError> {
    if request.authorization_repeated() {
        return Err(BearerError::InvalidRequest("a header was sent more than once"));
    }
    let Some(header) = request.authorization() else {
        return Err(BearerError::NoCredentials);
    };
    let scheme_end = header.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(header.len());
    let (scheme, rest) = header.split_at(scheme_end);
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else {
        return Err(BearerError::NoCredentials);
    };
    if body_has_access_token(request) {
        return Err(BearerError::InvalidRequest("the access token was sent by more than one method"));
    }
    // The separator is one or more spaces, nothing else.
    if rest.first() != Some(&b' ') {
        return Err(BearerError::InvalidRequest("malformed Authorization header"));
    }
    let token = rest.trim_ascii_start();
    let body_len = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    if body_len == 0 || token.len() > MAX_TOKEN_BYTES || !TOKEN68.contains_all(&token[..body_len]) {
        return Err(BearerError::InvalidRequest("malformed bearer token"));
    }
    Ok((scheme, token))
}

/// A token [`read_credentials`] accepted, as text (its bytes are ASCII, so this never fails).
pub(super) fn token_text(token: &[u8]) -> Result<&str, BearerError> {
    std::str::from_utf8(token).map_err(|_| BearerError::InvalidRequest("malformed bearer token"))
}

/// Whether a form body carries an `access_token` parameter (RFC 6750 §2.2), judged pair by pair
/// so that a malformed pair elsewhere in the body cannot hide it.
fn body_has_access_token(request: &Request<'_>) -> bool {
    request.has_form_content_type()
        && request.body().split(|&b| b == b'&').any(|pair| {
            let name = pair.split(|&b| b == b'=').next().unwrap_or(b"");
            name == b"access_token" || decode_component(name).is_ok_and(|n| n == "access_token")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: &str) -> Request<'_> {
        Request::get("").with_authorization(header.as_bytes())
    }

    #[test]
    fn rs01_the_scheme_decides_which_reader_takes_the_token() {
        // Either scheme, any case, for the reader of both; the token comes back as sent.
        for (header, scheme) in
            [("Bearer abc", Scheme::Bearer), ("bEARER abc==", Scheme::Bearer), ("DPoP abc", Scheme::Dpop)]
        {
            let token = header.split_once(' ').unwrap().1;
            assert_eq!(read_access_token(&with(header)), Ok((scheme, token)), "{header}");
        }
        assert_eq!(read_bearer_token(&with("Bearer abc")), Ok("abc"));
        // To the bearer reader a DPoP credential is no credential at all, however malformed its
        // token: it never reaches the token's syntax.
        for header in ["DPoP abc", "dpop !!", "DPoP", "Basic YTpi", "Bearerx abc"] {
            assert_eq!(read_bearer_token(&with(header)), Err(BearerError::NoCredentials), "{header}");
        }
        // To the reader of both, a DPoP token is read with the bearer token's rules.
        for header in ["DPoP !!", "DPoP\tabc", "dpop"] {
            assert!(matches!(read_access_token(&with(header)), Err(BearerError::InvalidRequest(_))), "{header}");
        }
        assert_eq!(read_access_token(&with("Basic YTpi")), Err(BearerError::NoCredentials));
        // Two headers are refused by both readers, whatever their schemes.
        let twice = with("Bearer abc").with_authorization(b"Basic YTpi");
        let refused = Err(BearerError::InvalidRequest("a header was sent more than once"));
        assert_eq!(read_access_token(&twice), refused);
        assert_eq!(read_bearer_token(&twice), refused.map(|(_, token)| token));
    }
}
