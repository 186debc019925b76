//! Validated newtypes: identifiers, scopes, the issuer, token digests and secrets.
//!
//! Every type here is checked when it is made, so a value of the type is always well formed.
//! Secrets ([`AuthorizationCode`], [`AccessToken`], [`RefreshToken`], [`ClientSecret`]) print as
//! `<redacted>` in `Debug` and are stored only as a [`TokenHash`].

use std::fmt;

use serde::{Deserialize, Serialize};

mod secrets;
mod text;

use text::Text;

pub use secrets::{AccessToken, AuthorizationCode, ClientSecret, RefreshToken, TokenHash};
pub(crate) use secrets::{Minted, constant_time_eq, encode_token};

/// Why a value was refused by one of the constructors in this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidValue {
    /// A client id must be 1 to 255 visible ASCII characters or spaces (RFC 6749 App. A.1).
    #[error("client_id must be 1 to 255 characters in %x20-7E")]
    ClientId,
    /// A scope is scope tokens of `NQCHAR`s separated by single spaces (AZ-10).
    #[error("scope must be tokens of %x21 / %x23-5B / %x5D-7E separated by single spaces")]
    Scope,
    /// A subject must be 1 to 1024 bytes without control characters.
    #[error("subject must be 1 to 1024 bytes without control characters")]
    Subject,
    /// The issuer must be an https URL (or http on a loopback host) without query or fragment.
    #[error("issuer must be an https URL (http only on a loopback host) without query, fragment or userinfo")]
    Issuer,
    /// A token digest is 43 base64url characters.
    #[error("token hash must be 43 base64url characters")]
    TokenHash,
    /// A grant id is 1 to 128 visible ASCII characters.
    #[error("grant id must be 1 to 128 visible ASCII characters")]
    GrantId,
    /// A resource indicator is an absolute URI without a fragment (RFC 8707 §2).
    #[error("a resource must be an absolute URI without a fragment, at most 2048 visible ASCII characters")]
    Resource,
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:expr, $err:expr) => {
        $(#[$meta])*
        ///
        /// Text of up to 22 bytes is kept in the value, so cloning it is a copy; longer text
        /// is shared (cloning is a reference count), so the records of one grant hold one copy
        /// of it between them.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Text);

        impl $name {
            /// Checks `value` and keeps a copy of it (inline when short, else one allocation).
            pub fn new(value: impl AsRef<str>) -> Result<Self, InvalidValue> {
                let value = value.as_ref();
                let check: fn(&str) -> bool = $check;
                if check(value) { Ok(Self(Text::new(value))) } else { Err($err) }
            }

            /// The value as text, exactly as it was given.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The text's bytes, without the UTF-8 check [`Self::as_str`] makes of a short
            /// value: for answers written as bytes.
            #[allow(dead_code, reason = "not every id is written into an answer")]
            pub(crate) fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }

            /// Wraps a literal written in the program, without a `Result` to handle on every
            /// request.
            ///
            /// # Panics
            ///
            /// When `value` is invalid: the literal is a bug in the program, never input.
            #[track_caller]
            pub fn from_static(value: &'static str) -> Self {
                match Self::new(value) {
                    Ok(valid) => valid,
                    Err(e) => panic!(concat!("invalid ", stringify!($name), " literal {:?}: {}"), value, e),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, InvalidValue> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                String::from(value.0.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0.as_str())
            }
        }
    };
}

string_newtype!(
    /// A registered client's identifier: 1 to 255 characters of `%x20-7E` (RFC 6749 App. A.1).
    ClientId,
    is_client_id,
    InvalidValue::ClientId
);

fn is_client_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

string_newtype!(
    /// The resource owner an authorization was granted by, as the host names them (a user id).
    ///
    /// 1 to 1024 bytes, no control characters.
    Subject,
    |v| !v.is_empty() && v.len() <= 1024 && !v.chars().any(char::is_control),
    InvalidValue::Subject
);

impl Subject {
    /// The subject of a token a client holds for itself (client_credentials): its id, shared.
    /// A client id is always a valid subject (fewer, printable characters).
    pub(crate) fn of_client(id: &ClientId) -> Self {
        Self(id.0.clone())
    }
}

impl ClientId {
    /// The client id a subject spells, if it is one, sharing the subject's text.
    pub(crate) fn spelled_by(subject: &Subject) -> Option<Self> {
        is_client_id(subject.0.as_str()).then(|| Self(subject.0.clone()))
    }
}

string_newtype!(
    /// The identifier of one grant: the code and every token issued from it share it.
    ///
    /// Made by the server from 128 random bits; a store treats it as an opaque key.
    GrantId,
    |v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()),
    InvalidValue::GrantId
);

string_newtype!(
    /// A resource indicator (RFC 8707 §2): the protected resource an access token is meant
    /// for, which becomes the token's audience (`aud`). An absolute URI (`scheme ":" ...`)
    /// without a fragment, at most 2048 visible ASCII characters, kept and compared exactly as
    /// given (RI-01).
    Resource,
    is_resource_indicator,
    InvalidValue::Resource
);

/// RFC 3986 §4.3 absolute-URI, as far as a resource indicator needs: a scheme (a letter, then
/// letters, digits, `+`, `-`, `.`), a colon, something after it, no fragment, no spaces.
fn is_resource_indicator(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else { return false };
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok
        && !rest.is_empty()
        && value.len() <= 2048
        && !value.contains('#')
        && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The authorization server's issuer identifier (RFC 8414, RFC 9207), kept exactly as given.
///
/// It must be an `https` URL, or `http` on a loopback host (`127.0.0.1`, `[::1]`, `localhost`)
/// for development (SEC-01), with no query, fragment or userinfo. A trailing slash is refused so
/// the text compares equal to what clients derive from metadata.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Issuer(String);

impl Issuer {
    /// Checks `value` and wraps it.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidValue> {
        let value = value.into();
        let rest = if let Some(rest) = value.strip_prefix("https://") {
            rest
        } else if let Some(rest) = value.strip_prefix("http://") {
            let host = rest.split(['/']).next().unwrap_or("");
            if !is_loopback_authority(host) {
                return Err(InvalidValue::Issuer);
            }
            rest
        } else {
            return Err(InvalidValue::Issuer);
        };
        let authority = rest.split('/').next().unwrap_or("");
        let ok = !authority.is_empty()
            && !value.ends_with('/')
            && value.len() <= 2048
            && !value.contains(['?', '#', '@'])
            && value.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(Self(value)) } else { Err(InvalidValue::Issuer) }
    }

    /// The issuer as text, exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Issuer {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        Self::new(value)
    }
}

impl From<Issuer> for String {
    fn from(value: Issuer) -> String {
        value.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Issuer({:?})", self.0)
    }
}

/// Whether `authority` (host and optional port, no userinfo) names a loopback host.
pub(crate) fn is_loopback_authority(authority: &str) -> bool {
    let host = split_port(authority).map(|(h, _)| h);
    matches!(host, Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Splits `host[:port]` into host and port text; `None` when the port is not 1-5 digits
/// within 0..=65535 or the host is empty. IPv6 literals keep their brackets.
pub(crate) fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    if let Some(port) = port {
        let digits_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok || port.parse::<u32>().ok()? > 65535 {
            return None;
        }
    }
    Some((host, port))
}

/// A set of scope tokens (AZ-10): case-sensitive, kept in the order first given, without repeats.
///
/// The text form is the tokens joined by single spaces, and that is how it is kept, so answers
/// and records never re-join tokens: in the value when it is at most 22 bytes (cloning is a
/// copy), else one shared string (cloning is a reference count). The empty scope is allowed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(Text);

impl Default for Scope {
    fn default() -> Self {
        Self(Text::EMPTY)
    }
}

/// `NQCHAR` (RFC 6749 App. A.4).
fn is_nqchar(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

impl Scope {
    /// Parses a `scope` parameter: `scope-token *( SP scope-token )`, each token `1*NQCHAR`.
    ///
    /// Repeated tokens are kept once. Leading, trailing or doubled spaces are refused.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let mut repeated = false;
        for (i, token) in text.split(' ').enumerate() {
            if token.is_empty() || !token.bytes().all(is_nqchar) {
                return Err(InvalidValue::Scope);
            }
            repeated = repeated || text.split(' ').take(i).any(|t| t == token);
        }
        if !repeated {
            return Ok(Self(Text::new(text)));
        }
        let mut kept: Vec<&str> = Vec::new();
        for token in text.split(' ') {
            if !kept.contains(&token) {
                kept.push(token);
            }
        }
        Ok(Self(Text::new(&kept.join(" "))))
    }

    /// A scope written in the program, parsed without a `Result` to handle on every request:
    /// `Scope::from_static("read write")`.
    ///
    /// # Panics
    ///
    /// When `text` is not a valid scope: the literal is a bug in the program, never input.
    #[track_caller]
    pub fn from_static(text: &'static str) -> Self {
        match Self::parse(text) {
            Ok(scope) => scope,
            Err(e) => panic!("invalid scope literal {text:?}: {e}"),
        }
    }

    /// The scope tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.as_str().split(' ').filter(|t| !t.is_empty())
    }

    /// The tokens joined by single spaces (empty for the empty scope).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// [`Scope::as_str`]'s bytes (all ASCII), without the UTF-8 check an inline text's
    /// `as_str` costs.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether the scope holds no token.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `token` is one of the scope's tokens (case-sensitive).
    pub fn contains(&self, token: &str) -> bool {
        self.token_bytes().any(|t| t == token.as_bytes())
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.as_bytes() == other.as_bytes() || self.token_bytes().all(|t| other.token_bytes().any(|o| o == t))
    }

    /// [`Scope::iter`] as bytes: scopes are a few short tokens, which a byte loop splits faster
    /// than a search for the next space does, and bytes need no UTF-8 check of an inline text
    /// (every resource request asks this).
    fn token_bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.as_bytes().split(|&b| b == b' ').filter(|t| !t.is_empty())
    }

    /// The tokens of `self` that are also in `other`, in `self`'s order: how a policy narrows
    /// a requested scope to an allowed one.
    ///
    /// ```
    /// # use oauth21::Scope;
    /// let asked = Scope::from_static("read write admin");
    /// assert_eq!(asked.intersection(&Scope::from_static("write read")).to_string(), "read write");
    /// ```
    pub fn intersection(&self, other: &Scope) -> Scope {
        if self.is_subset_of(other) {
            return self.clone();
        }
        let kept: Vec<&str> = self.iter().filter(|t| other.contains(t)).collect();
        if kept.is_empty() { Self::default() } else { Self(Text::new(&kept.join(" "))) }
    }
}

impl TryFrom<String> for Scope {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        Self::parse(&value)
    }
}

impl From<Scope> for String {
    fn from(value: Scope) -> String {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_membership_is_whole_tokens_whatever_their_prefixes_and_order() {
        // Every scope of up to three tokens from names that prefix one another, against every
        // other: containment and subsets agree with a set of strings.
        let names = ["r", "re", "read", "read:all", "write"];
        let mut scopes = vec![Scope::default()];
        for a in 0..names.len() {
            scopes.push(Scope::parse(names[a]).unwrap());
            for b in 0..names.len() {
                scopes.push(Scope::parse(&format!("{} {}", names[a], names[b])).unwrap());
                for c in [0, 3] {
                    scopes.push(Scope::parse(&format!("{} {} {}", names[b], names[c], names[a])).unwrap());
                }
            }
        }
        fn set(s: &Scope) -> std::collections::BTreeSet<&str> {
            s.as_str().split(' ').filter(|t| !t.is_empty()).collect()
        }
        for x in &scopes {
            for name in names.into_iter().chain(["", "ead", "read "]) {
                assert_eq!(x.contains(name), set(x).contains(name), "{x} contains {name:?}");
            }
            for y in &scopes {
                assert_eq!(x.is_subset_of(y), set(x).is_subset(&set(y)), "{x} within {y}");
            }
        }
    }

    #[test]
    fn literals_build_without_a_result_and_invalid_ones_are_caught_at_once() {
        assert_eq!(Scope::from_static("read write"), Scope::parse("read write").unwrap());
        assert_eq!(Subject::from_static("alice").as_str(), "alice");
        assert_eq!(ClientId::from_static("app").as_str(), "app");
        assert!(std::panic::catch_unwind(|| Scope::from_static("read  write")).is_err());
        assert!(std::panic::catch_unwind(|| Subject::from_static("")).is_err());
    }

    #[test]
    fn az10_scope_syntax_is_nqchar_tokens_separated_by_single_spaces() {
        assert_eq!(Scope::parse("read write").unwrap().to_string(), "read write");
        assert_eq!(Scope::parse("read read").unwrap().to_string(), "read");
        assert!(Scope::parse("Read").unwrap() != Scope::parse("read").unwrap());
        for bad in [" read", "read ", "read  write", "a\"b", "a\\b", "caf\u{e9}", "a\tb"] {
            assert_eq!(Scope::parse(bad), Err(InvalidValue::Scope), "{bad:?}");
        }
        assert!(Scope::parse("").unwrap().is_empty());
    }

    #[test]
    fn sec01_issuer_must_be_https_or_loopback_http() {
        for good in
            ["https://as.example", "https://as.example/tenant", "http://127.0.0.1:8080", "http://localhost:3000"]
        {
            assert!(Issuer::new(good).is_ok(), "{good}");
        }
        for bad in [
            "http://as.example",
            "https://as.example/",
            "https://as.example?x=1",
            "https://as.example#f",
            "https://user@as.example",
            "ftp://as.example",
            "https://",
            "http://127.0.0.1.evil.test",
        ] {
            assert!(Issuer::new(bad).is_err(), "{bad}");
        }
    }
}
