//! Registered redirect URIs: validation at registration (AZ-07) and matching at the
//! authorization endpoint (AZ-04, AZ-05).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::http::decode_component;
use crate::types::split_port;

/// Why a redirect URI cannot be registered (AZ-07).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Not an absolute URI with a scheme.
    #[error("must be an absolute URI")]
    NotAbsolute,
    /// The scheme has characters outside `[a-z0-9+.-]` or upper case.
    #[error("the scheme must be lower case letters, digits, '+', '-' or '.'")]
    BadScheme,
    /// Has a fragment.
    #[error("must not contain a fragment")]
    Fragment,
    /// Has userinfo (`user@host`).
    #[error("must not contain userinfo")]
    Userinfo,
    /// `http` on a host other than a loopback one.
    #[error("http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    InsecureHttp,
    /// The host or port is missing or malformed.
    #[error("the host or port is malformed")]
    BadAuthority,
    /// A private-use scheme that is not in reverse domain name form.
    #[error("a private-use scheme must be a reverse domain name (contain a '.')")]
    PrivateSchemeWithoutDot,
    /// The query already holds a parameter the authorization response adds (`code`, `state`,
    /// `iss`, `error`, ...), which would make the response ambiguous.
    #[error("the query must not contain code, state, iss, error, error_description or error_uri")]
    ReservedQueryParameter,
    /// A query parameter name has a malformed percent escape or is not UTF-8 once decoded.
    #[error("the query has a malformed percent escape")]
    MalformedQuery,
    /// Whitespace, control or non-ASCII characters, or longer than 2048 bytes.
    #[error("must be at most 2048 visible ASCII characters (percent-encode the rest)")]
    BadCharacters,
}

/// A registered redirect URI, validated (AZ-07) and kept as the exact text registered.
///
/// Matching is exact string comparison (AZ-04), except that for `http` on a loopback IP literal
/// the port is ignored (AZ-05, RFC 8252 §7.3).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

/// `http://` URI split around its port: (host, port, path-query-fragment).
fn split_http_uri(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    Some((host, port, tail))
}

impl RedirectUri {
    /// Validates `uri` for registration (AZ-07).
    pub fn new(uri: impl Into<String>) -> Result<Self, RedirectUriError> {
        let uri = uri.into();
        if uri.is_empty() || uri.len() > 2048 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RedirectUriError::BadCharacters);
        }
        let (scheme, rest) = uri.split_once(':').ok_or(RedirectUriError::NotAbsolute)?;
        let scheme_ok = scheme.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && scheme.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(if scheme.is_empty() { RedirectUriError::NotAbsolute } else { RedirectUriError::BadScheme });
        }
        if rest.is_empty() {
            return Err(RedirectUriError::NotAbsolute);
        }
        if uri.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let authority = rest.strip_prefix("//").map(|r| &r[..r.find(['/', '?']).unwrap_or(r.len())]);
        if authority.is_some_and(|a| a.contains('@')) {
            return Err(RedirectUriError::Userinfo);
        }
        match scheme {
            "https" | "http" => {
                let authority = authority.ok_or(RedirectUriError::NotAbsolute)?;
                let (host, _) = split_port(authority).ok_or(RedirectUriError::BadAuthority)?;
                if host.starts_with('[') && !host.ends_with(']') {
                    return Err(RedirectUriError::BadAuthority);
                }
                if scheme == "http" && !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
                    return Err(RedirectUriError::InsecureHttp);
                }
            }
            _ if !scheme.contains('.') => return Err(RedirectUriError::PrivateSchemeWithoutDot),
            _ => {}
        }
        if let Some((_, query)) = uri.split_once('?') {
            const RESERVED: [&str; 6] = ["code", "state", "iss", "error", "error_description", "error_uri"];
            // Names are compared decoded, as the client's own parser will read them: `%69ss` is
            // `iss`, and would put a second `iss` into every response.
            for pair in query.split('&') {
                let name = pair.split('=').next().unwrap_or("");
                let name = decode_component(name.as_bytes()).map_err(|_| RedirectUriError::MalformedQuery)?;
                if RESERVED.contains(&name.as_ref()) {
                    return Err(RedirectUriError::ReservedQueryParameter);
                }
            }
        }
        Ok(Self(uri))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `requested` (a `redirect_uri` parameter) matches this registration.
    ///
    /// Exact, case-sensitive string comparison (AZ-04). For `http://127.0.0.1` and
    /// `http://[::1]` (and `http://localhost` when `localhost_any_port`), any port matches
    /// while the host and everything after the port must still be identical (AZ-05).
    pub fn matches(&self, requested: &str, localhost_any_port: bool) -> bool {
        if self.0 == requested {
            return true;
        }
        let (Some((host, _, tail)), Some((req_host, _, req_tail))) =
            (split_http_uri(&self.0), split_http_uri(requested))
        else {
            return false;
        };
        let loopback = matches!(host, "127.0.0.1" | "[::1]") || (localhost_any_port && host == "localhost");
        loopback && host == req_host && tail == req_tail
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = RedirectUriError;
    fn try_from(value: String) -> Result<Self, RedirectUriError> {
        Self::new(value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> String {
        value.0
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({:?})", self.0)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn az07_a_registered_uri_prints_exactly_as_registered() {
        let uri = super::RedirectUri::new("https://app.example/cb?x=%2F").unwrap();
        assert_eq!(uri.to_string(), "https://app.example/cb?x=%2F");
        assert_eq!(format!("{uri:?}"), r#"RedirectUri("https://app.example/cb?x=%2F")"#);
    }
    use super::*;

    #[test]
    fn az07_registration_refuses_bad_redirect_uris() {
        let cases = [
            ("/relative/cb", RedirectUriError::NotAbsolute),
            ("https://app.example/cb#frag", RedirectUriError::Fragment),
            ("https://user:pw@app.example/cb", RedirectUriError::Userinfo),
            ("http://localhost:80@attacker.test/cb", RedirectUriError::Userinfo),
            ("http://app.example/cb", RedirectUriError::InsecureHttp),
            ("http://127.0.0.1.attacker.test/cb", RedirectUriError::InsecureHttp),
            ("myapp:/cb", RedirectUriError::PrivateSchemeWithoutDot),
            ("javascript:alert(1)", RedirectUriError::PrivateSchemeWithoutDot),
            ("HTTPS://app.example/cb", RedirectUriError::BadScheme),
            ("https://app.example/c b", RedirectUriError::BadCharacters),
            ("https://app.example/caf\u{e9}", RedirectUriError::BadCharacters),
            ("https:", RedirectUriError::NotAbsolute),
            ("https:///cb", RedirectUriError::BadAuthority),
            ("https://app.example:99999/cb", RedirectUriError::BadAuthority),
            ("http://[::1/cb", RedirectUriError::BadAuthority),
            ("https://app.example/cb?code=1", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?a=1&state", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?iss=x", RedirectUriError::ReservedQueryParameter),
            // Percent-encoded names are the same names to the client's parser.
            ("https://app.example/cb?%69ss=x", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?a=1&%73tate=x", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?%63ode", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?error%5Fdescription=x", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?%zzss=x", RedirectUriError::MalformedQuery),
            ("https://app.example/cb?%ff=x", RedirectUriError::MalformedQuery),
        ];
        for (uri, reason) in cases {
            assert_eq!(RedirectUri::new(uri), Err(reason), "{uri}");
        }
        for good in [
            "https://app.example/cb",
            "https://app.example/cb?tenant=1",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::new(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn az04_redirect_uri_is_compared_as_exact_string() {
        let r = RedirectUri::new("https://app.example/cb").unwrap();
        assert!(r.matches("https://app.example/cb", false));
        for other in [
            "https://APP.example/cb",
            "https://app.example/CB",
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb#x",
            "https://app.example/%63b",
            "https://app.example:443/cb",
            "https://app.example/cb/../cb",
            "https://app.example.attacker.test/cb",
        ] {
            assert!(!r.matches(other, false), "{other}");
        }
    }

    #[test]
    fn az05_loopback_ip_matches_any_port_but_nothing_else() {
        let r = RedirectUri::new("http://127.0.0.1/cb").unwrap();
        assert!(r.matches("http://127.0.0.1:51234/cb", false));
        assert!(r.matches("http://127.0.0.1/cb", false));
        for other in [
            "http://127.0.0.1:51234/cb2",
            "http://127.0.0.1:51234/cb?x=1",
            "http://127.0.0.2:51234/cb",
            "http://[::1]:51234/cb",
            "http://127.0.0.1:80@attacker.test/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "https://127.0.0.1:443/cb",
        ] {
            assert!(!r.matches(other, false), "{other}");
        }
        let v6 = RedirectUri::new("http://[::1]:9000/cb").unwrap();
        assert!(v6.matches("http://[::1]:1234/cb", false));
        assert!(!v6.matches("http://[::1/cb", false));
    }

    #[test]
    fn az05_localhost_matches_any_port_only_when_opted_in() {
        let r = RedirectUri::new("http://localhost:3000/cb").unwrap();
        assert!(!r.matches("http://localhost:4000/cb", false));
        assert!(r.matches("http://localhost:4000/cb", true));
        assert!(r.matches("http://localhost:3000/cb", false));
    }
}
