//! Property tests of the strict parsers and validators, each checked against a reference
//! predicate written here from the specification text, independently of the implementation:
//!
//! - Basic credentials (TK-05): round trip for any id and secret, split at the first `:` then
//!   form-decoded, case-insensitive scheme, no panic on any bytes.
//! - Form decoding as the endpoints see it (TK-02, AZ-02, AZ-12, SEC-08): any Unicode value
//!   survives `serde_urlencoded` encoding byte for byte, a repeated defined parameter is always
//!   refused, unknown parameters never change an outcome, no input panics.
//! - Scope syntax (AZ-10), PKCE verifiers and challenges (PK-04, PK-05, PK-06), and redirect URI
//!   matching (AZ-04, AZ-05).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use oauth21::client::{basic_auth_header, parse_basic_auth};
use oauth21::store::Store;
use oauth21::{
    AccessToken, Approval, AuthorizeError, AuthorizeOutcome, Client, CodeChallenge, CodeVerifier, GrantType, Method,
    RedirectUri, Request, Response, Scope, Subject,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use sha2::{Digest, Sha256};

fn config() -> ProptestConfig {
    // No regression files: this suite may not write into tests/.
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// Reference predicates, written from the specifications.
// ---------------------------------------------------------------------------------------------

/// Strict decoding of one `application/x-www-form-urlencoded` component (2.1 App. B): `+` is a
/// space, `%` and two hex digits a byte, any other byte itself; `None` for a `%` without two hex
/// digits after it, or a result that is not UTF-8.
fn reference_form_decode(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = tail.get(..2)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
                out.push(digit(hex[0])? * 16 + digit(hex[1])?);
                rest = &tail[2..];
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// RFC 6749 §2.3.1 as the checklist reads it (TK-05): the decoded Basic payload is split at its
/// first `:`, then each half is form-decoded.
fn reference_basic_payload(payload: &[u8]) -> Option<(String, String)> {
    let colon = payload.iter().position(|&b| b == b':')?;
    Some((reference_form_decode(&payload[..colon])?, reference_form_decode(&payload[colon + 1..])?))
}

/// Every value of `name` in the query of `url`, decoded strictly. Fails the case when any pair
/// of the query is not strictly decodable: the server must only ever write clean encodings.
fn strict_query_values(url: &str, name: &str) -> Result<Vec<String>, TestCaseError> {
    let Some((_, query)) = url.split_once('?') else { return Ok(Vec::new()) };
    let mut values = Vec::new();
    for pair in query.split('&') {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(n), Some(v)) = (reference_form_decode(n.as_bytes()), reference_form_decode(v.as_bytes())) else {
            return Err(TestCaseError::fail(format!("not strictly form-encoded: {pair:?} in {url:?}")));
        };
        if n == name {
            values.push(v);
        }
    }
    Ok(values)
}

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E` (2.1 App. A).
fn is_nqchar(c: char) -> bool {
    matches!(c, '\u{21}' | '\u{23}'..='\u{5b}' | '\u{5d}'..='\u{7e}')
}

/// `scope = scope-token *( SP scope-token )`, `scope-token = 1*NQCHAR`, as a two-state
/// recogniser: after a space a token character must follow, and the text must end in a token.
fn reference_scope_syntax(text: &str) -> bool {
    // `in_token`: the last character read was a token character.
    let mut in_token = false;
    for c in text.chars() {
        in_token = match c {
            ' ' if in_token => false,
            c if is_nqchar(c) => true,
            _ => return false,
        };
    }
    in_token
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 7636 §4.1).
fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// `code-verifier = 43*128unreserved` (RFC 7636 §4.1, PK-05).
fn reference_verifier(text: &str) -> bool {
    let count = text.chars().count();
    (43..=128).contains(&count) && text.chars().all(is_unreserved)
}

/// PK-04: the text is what base64url without padding makes of 32 bytes, and nothing else
/// decodes to the same bytes (the `base64` crate's strict decoder refuses stray trailing bits).
fn reference_challenge(text: &str) -> bool {
    text.len() == 43 && URL_SAFE_NO_PAD.decode(text).is_ok_and(|bytes| bytes.len() == 32)
}

/// AZ-04 / AZ-05 (RFC 8252 §7.3): a requested redirect URI matches a registered one when the
/// two are the same string, or when the registered one is `http://127.0.0.1` or `http://[::1]`
/// (and `http://localhost` when the server opts in) and the requested one has the same host
/// and the same text after the port, and differs at most in the port (absent, or 1 to 5
/// ASCII digits naming 0..=65535).
fn reference_redirect_match(registered: &str, requested: &str, localhost_any_port: bool) -> bool {
    if registered.as_bytes() == requested.as_bytes() {
        return true;
    }
    let hosts: &[&str] =
        if localhost_any_port { &["127.0.0.1", "[::1]", "localhost"] } else { &["127.0.0.1", "[::1]"] };
    hosts.iter().any(|host| {
        let prefix = format!("http://{host}");
        let tail = |uri: &'_ str| uri.strip_prefix(prefix.as_str()).and_then(after_port).map(str::to_owned);
        match (tail(registered), tail(requested)) {
            // The tail must start right after the host: "http://127.0.0.10/" is another host.
            (Some(a), Some(b)) => a == b && (a.is_empty() || a.starts_with('/') || a.starts_with('?')),
            _ => false,
        }
    })
}

/// What follows an optional `:port` at the start of `rest`; `None` when a `:` is not followed by
/// 1 to 5 ASCII digits with a value of at most 65535.
fn after_port(rest: &str) -> Option<&str> {
    let Some(port_and_tail) = rest.strip_prefix(':') else { return Some(rest) };
    let digits = port_and_tail.bytes().take_while(u8::is_ascii_digit).count();
    let (port, tail) = port_and_tail.split_at(digits);
    ((1..=5).contains(&digits) && port.parse::<u32>().is_ok_and(|p| p <= 65535)).then_some(tail)
}

// ---------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------

/// Any character, with the ones that matter to form encoding and Basic credentials often.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        2 => select(vec![' ', '%', '+', '&', '=', ':', '#', '?', '/', '\0', '\n', '\u{7f}', '\u{a3}', '\u{20ac}',
            '\u{1f600}', '\u{fffd}', '\u{feff}']),
        3 => proptest::char::range(' ', '~'),
    ]
}

/// Any Unicode string of at most `max` characters, control characters included.
fn unicode(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(interesting_char(), 0..=max).prop_map(String::from_iter)
}

/// A non-empty one: an empty value counts as omitted (AZ-02, TK-02).
fn nonempty_unicode(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(interesting_char(), 1..=max).prop_map(String::from_iter)
}

/// A client id: 1 or more characters of `%x20-7E` (RFC 6749 App. A.1).
fn client_id_text() -> impl Strategy<Value = String> {
    let c = prop_oneof![3 => proptest::char::range(' ', '~'), 1 => select(vec![' ', ':', '%', '+', '&', '='])];
    proptest::collection::vec(c, 1..=40).prop_map(String::from_iter)
}

/// Bytes that are mostly the pieces of a form or a Basic payload, sometimes anything.
fn form_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        4 => select(vec![b'%', b'+', b'&', b'=', b':', b'a', b'F', b'0', b'9', b' ']).prop_map(|b| vec![b]),
        2 => select(vec![
            "grant_type=authorization_code", "client_id=app", "code=", "code_verifier=", "redirect_uri=",
            "response_type=code", "scope=read", "%zz", "%4", "%C3%A9", "%ff", "%00", "%3A", "\u{e9}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    proptest::collection::vec(piece, 0..=48).prop_map(|pieces| pieces.concat())
}

/// Parameter names that OAuth defines somewhere (here or in extensions the crate may grow):
/// never used as "unknown" parameters.
const KNOWN_NAMES: [&str; 32] = [
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "refresh_token",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "request_uri",
    "request",
    "dpop_jkt",
    "token",
    "token_type_hint",
    "client_assertion",
    "client_assertion_type",
    "nonce",
    "prompt",
    "audience",
    "iss",
    "response_mode",
    "login_hint",
    "max_age",
    "ui_locales",
    "acr_values",
    "display",
    "claims",
    "authorization_details",
];

/// A parameter no endpoint defines, with any value (empty included).
fn unknown_param() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof!["[a-z_]{1,14}", nonempty_unicode(10)]
        .prop_filter("a defined parameter name", |n| !KNOWN_NAMES.contains(&n.as_str()));
    (name, unknown_value())
}

fn unknown_value() -> impl Strategy<Value = String> {
    unicode(24)
}

/// Unknown parameters, each with the position (in the pairs so far) where it goes.
fn unknown_params() -> impl Strategy<Value = Vec<(Index, (String, String))>> {
    proptest::collection::vec((any::<Index>(), unknown_param()), 1..=6)
}

/// Form parameters, in order.
type Pairs = Vec<(String, String)>;

fn pairs(list: &[(&str, &str)]) -> Pairs {
    list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form encoding")
}

fn with_inserted(mut base: Vec<(String, String)>, extra: &[(Index, (String, String))]) -> Vec<(String, String)> {
    for (at, pair) in extra {
        let i = at.index(base.len() + 1);
        base.insert(i, pair.clone());
    }
    base
}

fn alice() -> Subject {
    Subject::new("alice").unwrap()
}

/// The `error` member of a JSON error answer, or `None` for a 2xx.
fn token_outcome(response: &Response) -> (u16, Option<String>) {
    let error = match response.status() {
        200..=299 => None,
        _ => Some(json(response)["error"].as_str().unwrap_or("<no error member>").to_owned()),
    };
    (response.status(), error)
}

// ---------------------------------------------------------------------------------------------
// TK-05: Basic credentials.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// TK-05: `basic_auth_header` then `parse_basic_auth` gives back any client id (`%x20-7E`)
    /// and any secret (any Unicode, control characters and `:` included).
    #[test]
    fn tk05_basic_auth_round_trips_for_any_id_and_secret(id in client_id_text(), secret in unicode(48)) {
        let header = basic_auth_header(&id, &secret);
        prop_assert_eq!(parse_basic_auth(header.as_bytes()), Ok((id, secret)));
    }

    /// TK-05: the scheme compares case-insensitively, with one or more spaces before the
    /// credentials; any other scheme is refused.
    #[test]
    fn tk05_basic_auth_scheme_is_case_insensitive(
        id in client_id_text(),
        secret in unicode(16),
        case_mask in any::<u8>(),
        spaces in 1..=3usize,
        other_scheme in "[A-Za-z]{1,8}",
    ) {
        let header = basic_auth_header(&id, &secret);
        let credentials = header.strip_prefix("Basic ").expect("Basic scheme");
        let scheme: String = "basic"
            .chars()
            .enumerate()
            .map(|(i, c)| if case_mask & (1 << i) != 0 { c.to_ascii_uppercase() } else { c })
            .collect();
        let varied = format!("{scheme}{}{credentials}", " ".repeat(spaces));
        prop_assert_eq!(parse_basic_auth(varied.as_bytes()), Ok((id, secret)), "{}", varied);
        if !other_scheme.eq_ignore_ascii_case("basic") {
            let other = format!("{other_scheme} {credentials}");
            prop_assert!(parse_basic_auth(other.as_bytes()).is_err(), "{}", other);
        }
    }

    /// TK-05: for any decoded payload, the credentials are what splitting at the first `:` and
    /// strictly form-decoding each half gives (a bad escape or non-UTF-8 half is refused).
    #[test]
    fn tk05_basic_payload_is_split_at_the_first_colon_then_form_decoded(payload in form_like_bytes()) {
        let header = format!("Basic {}", STANDARD.encode(&payload));
        prop_assert_eq!(parse_basic_auth(header.as_bytes()).ok(), reference_basic_payload(&payload));
    }

    /// TK-05, SEC-08: any bytes as an `Authorization` header are parsed without panicking, and
    /// whatever is accepted re-encodes to the same credentials.
    #[test]
    fn tk05_basic_auth_never_panics_on_arbitrary_bytes(
        raw in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=64),
            form_like_bytes().prop_map(|b| [b"Basic ".as_slice(), &b].concat()),
            form_like_bytes().prop_map(|b| format!("bAsIc  {}", STANDARD.encode(b)).into_bytes()),
        ],
    ) {
        if let Ok((id, secret)) = parse_basic_auth(&raw) {
            let again = basic_auth_header(&id, &secret);
            prop_assert_eq!(parse_basic_auth(again.as_bytes()), Ok((id, secret)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TK-02, AZ-02, AZ-12, SEC-08: form decoding as the endpoints see it.
// ---------------------------------------------------------------------------------------------

/// The parameters of a valid authorization request for `client_id` with `state`.
fn authorize_pairs(client_id: &str, state: &str) -> Vec<(String, String)> {
    pairs(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", "http://127.0.0.1:5000/cb"),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
}

/// The parameters of a valid redemption of `code` by `client_id`.
fn redeem_pairs(client_id: &str, code: &str) -> Vec<(String, String)> {
    pairs(&[
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:5000/cb"),
        ("code_verifier", VERIFIER),
    ])
}

/// Token requests whose outcome must not depend on unknown parameters, with that outcome.
fn token_scenario(which: usize, code: &str) -> (Pairs, (u16, Option<&'static str>)) {
    let valid = redeem_pairs("app", code);
    let set = |name: &str, value: &str| -> Vec<(String, String)> {
        valid.iter().map(|(n, v)| (n.clone(), if n == name { value.to_owned() } else { v.clone() })).collect()
    };
    let without = |name: &str| -> Vec<(String, String)> { valid.iter().filter(|(n, _)| n != name).cloned().collect() };
    match which % 11 {
        0 => (valid.clone(), (200, None)),
        1 => (set("code_verifier", &"A".repeat(43)), (400, Some("invalid_grant"))),
        2 => (without("code_verifier"), (400, Some("invalid_request"))),
        3 => (set("code_verifier", "short"), (400, Some("invalid_request"))),
        4 => (without("grant_type"), (400, Some("invalid_request"))),
        5 => (set("grant_type", "password"), (400, Some("unsupported_grant_type"))),
        6 => (set("redirect_uri", "http://127.0.0.1:5001/cb"), (400, Some("invalid_grant"))),
        7 => (set("client_id", "nobody"), (400, Some("invalid_client"))),
        8 => (without("code"), (400, Some("invalid_request"))),
        9 => {
            let mut web = set("client_id", "web");
            web.push(("client_secret".into(), WEB_SECRET.into()));
            (web, (400, Some("invalid_grant")))
        }
        _ => (
            pairs(&[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", "svc-secret"),
                ("scope", "read"),
            ]),
            (200, None),
        ),
    }
}

/// Authorization requests whose outcome must not depend on unknown parameters.
fn authorize_scenario(which: usize) -> Vec<(String, String)> {
    let valid = authorize_pairs("app", "st8");
    let set = |name: &str, value: &str| -> Vec<(String, String)> {
        valid.iter().map(|(n, v)| (n.clone(), if n == name { value.to_owned() } else { v.clone() })).collect()
    };
    let without = |name: &str| -> Vec<(String, String)> { valid.iter().filter(|(n, _)| n != name).cloned().collect() };
    match which % 9 {
        0 => valid.clone(),
        1 => set("response_type", "token"),
        2 => without("code_challenge"),
        3 => [valid.clone(), pairs(&[("scope", "admin")])].concat(),
        4 => set("client_id", "nobody"),
        5 => set("redirect_uri", "https://evil.test/cb"),
        6 => without("response_type"),
        7 => set("code_challenge_method", "plain"),
        _ => [valid.clone(), pairs(&[("scope", "read write")])].concat(),
    }
}

/// The comparable part of an authorization outcome: for consent, what would be asked and
/// where the answer goes; for an error, the error and the exact response.
fn authorize_summary(outcome: AuthorizeOutcome) -> (String, Option<AuthorizeError>, Option<Response>) {
    match outcome {
        AuthorizeOutcome::Consent(c) => {
            (format!("{} {} {:?} {}", c.client().id(), c.scope(), c.state(), c.redirect_uri()), None, None)
        }
        AuthorizeOutcome::Error { error, response } => (String::new(), Some(error), Some(response)),
        _ => unreachable!("a variant this code does not know"),
    }
}

proptest! {
    #![proptest_config(config())]

    /// AZ-12 (with AZ-02, AZ-14): any non-empty `state`, sent form-encoded, comes back byte for
    /// byte, exactly once, in the success redirect, an error redirect and a denial.
    #[test]
    fn az12_any_state_is_echoed_byte_identical_in_success_and_error_redirects(state in nonempty_unicode(40)) {
        let fx = fixture();
        let query = encode(&authorize_pairs("app", &state));
        let consent = fx.consent(&query);
        prop_assert_eq!(consent.state(), Some(state.as_str()));
        let approved = block_on(fx.server.approve(&consent, Approval::new(alice()))).unwrap().into_response();
        let location = approved.location().expect("a redirect");
        prop_assert_eq!(strict_query_values(location, "state")?, vec![state.clone()]);
        prop_assert_eq!(strict_query_values(location, "iss")?, vec![ISSUER.to_owned()]);
        let denied = block_on(fx.server.deny(&consent));
        prop_assert_eq!(strict_query_values(denied.location().unwrap(), "state")?, vec![state.clone()]);

        let bad: Vec<(String, String)> = authorize_pairs("app", &state)
            .into_iter()
            .map(|(n, v)| if n == "response_type" { (n, "token".to_owned()) } else { (n, v) })
            .collect();
        let (_, response) = fx.authorize_error(&encode(&bad));
        let location = response.location().expect("an error redirect");
        prop_assert_eq!(strict_query_values(location, "error")?, vec!["unsupported_response_type".to_owned()]);
        prop_assert_eq!(strict_query_values(location, "state")?, vec![state]);
    }

    /// TK-02 / AZ-02 (with AC-02): any client id (`%x20-7E`), form-encoded, is recognised at
    /// both endpoints: the whole code flow works for a client registered under it, and the
    /// token issued names it; a one-character variation is not recognised (invalid_client).
    #[test]
    fn tk02_any_client_id_round_trips_through_form_encoding_at_both_endpoints(
        id in client_id_text(),
        state in nonempty_unicode(8),
    ) {
        prop_assume!(!["app", "web", "svc"].contains(&id.as_str()));
        let fx = fixture();
        let client = Client::public(id.clone())
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode])
            .scope("read")
            .default_scope("read")
            .build()
            .unwrap();
        fx.store.insert_client(client);
        let code = fx.code(&encode(&authorize_pairs(&id, &state)));
        let response = fx.token(&encode(&redeem_pairs(&id, &code)), None);
        prop_assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
        let access = AccessToken::new(json(&response)["access_token"].as_str().unwrap());
        let record = block_on(fx.store.access_token(&access.hash())).unwrap().expect("stored");
        prop_assert_eq!(record.client_id.as_str(), id.as_str());

        let other = format!("{id}x");
        prop_assume!(!["app", "web", "svc"].contains(&other.as_str()));
        let code = fx.code(&encode(&authorize_pairs(&id, &state)));
        let response = fx.token(&encode(&redeem_pairs(&other, &code)), None);
        prop_assert_eq!(token_outcome(&response), (400, Some("invalid_client".to_owned())));
    }

    /// TK-02: a parameter the token endpoint defines, sent twice with non-empty values (any
    /// Unicode), is refused as invalid_request before anything else, so the code is not
    /// consumed; a repeat with an empty value counts as omitted and changes nothing.
    #[test]
    fn tk02_a_repeated_defined_parameter_is_always_refused(
        name in select(vec![
            "grant_type", "client_id", "client_secret", "code", "code_verifier", "redirect_uri", "scope",
            "refresh_token",
        ]),
        first in nonempty_unicode(12),
        second in nonempty_unicode(12),
        at in any::<(Index, Index)>(),
        empty_at in any::<Index>(),
    ) {
        let fx = fixture();
        let code = fx.code(&app_query(""));
        let base = redeem_pairs("app", &code);
        let repeated = with_inserted(
            base.clone(),
            &[(at.0, (name.to_owned(), first)), (at.1, (name.to_owned(), second))],
        );
        let response = fx.token(&encode(&repeated), None);
        prop_assert_eq!(token_outcome(&response), (400, Some("invalid_request".to_owned())));

        // An empty repeat is an omitted parameter: the valid redemption still works.
        let empty = with_inserted(base, &[(empty_at, (name.to_owned(), String::new()))]);
        let response = fx.token(&encode(&empty), None);
        prop_assert_eq!(token_outcome(&response), (200, None));
    }

    /// AZ-02: a parameter the authorization endpoint defines, sent twice with non-empty values,
    /// is refused: an error page when it is client_id or redirect_uri (the redirect target is
    /// not trusted yet, AZ-08), otherwise an invalid_request redirect. No code is ever issued.
    /// A repeat with an empty value counts as omitted: the request is still valid.
    #[test]
    fn az02_a_repeated_defined_parameter_is_always_refused(
        name in select(vec![
            "client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method",
        ]),
        first in nonempty_unicode(12),
        second in nonempty_unicode(12),
        at in any::<(Index, Index)>(),
        empty_at in any::<Index>(),
    ) {
        let fx = fixture();
        let repeated = with_inserted(
            authorize_pairs("app", "st8"),
            &[(at.0, (name.to_owned(), first)), (at.1, (name.to_owned(), second))],
        );
        let (error, response) = match fx.authorize(&encode(&repeated)) {
            AuthorizeOutcome::Error { error, response } => (error, response),
            AuthorizeOutcome::Consent(_) => return Err(TestCaseError::fail("a repeated parameter was accepted")),
            _ => unreachable!("a variant this code does not know"),
        };
        match name {
            "client_id" | "redirect_uri" => {
                prop_assert!(!error.is_redirectable(), "{:?}", error);
                prop_assert_eq!(response.status(), 400);
                prop_assert!(response.location().is_none());
            }
            _ => {
                prop_assert_eq!(error, AuthorizeError::InvalidRequest("a parameter appears more than once"));
                let location = response.location().expect("an error redirect");
                prop_assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{}", location);
                prop_assert_eq!(strict_query_values(location, "error")?, vec!["invalid_request".to_owned()]);
            }
        }
        prop_assert_eq!(fx.store.counts().0, 0);

        let empty = with_inserted(authorize_pairs("app", "st8"), &[(empty_at, (name.to_owned(), String::new()))]);
        let consent = fx.consent(&encode(&empty));
        prop_assert_eq!(consent.state(), Some("st8"));
        prop_assert_eq!(consent.redirect_uri(), "http://127.0.0.1:5000/cb");
    }

    /// TK-02: unknown parameters (any name not defined, any Unicode value, anywhere in the
    /// body) never change a token request's outcome, successful or not.
    #[test]
    fn tk02_unknown_parameters_never_change_the_token_outcome(
        which in 0..11usize,
        extra in unknown_params(),
    ) {
        let fx = fixture();
        let (c1, c2) = (fx.code(&app_query("")), fx.code(&app_query("")));
        let (base, expected) = token_scenario(which, &c1);
        let plain = fx.token(&encode(&base), None);
        prop_assert_eq!(token_outcome(&plain), (expected.0, expected.1.map(str::to_owned)));
        let (base, _) = token_scenario(which, &c2);
        let noisy = fx.token(&encode(&with_inserted(base, &extra)), None);
        prop_assert_eq!(token_outcome(&noisy), token_outcome(&plain));
        let members = |r: &Response| {
            let mut keys: Vec<String> = json(r).as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        prop_assert_eq!(members(&noisy), members(&plain));
        prop_assert_eq!(noisy.headers(), plain.headers());
    }

    /// AZ-01: unknown parameters never change an authorization request's outcome: the same
    /// consent, or the same error with the very same response.
    #[test]
    fn az01_unknown_parameters_never_change_the_authorization_outcome(
        which in 0..9usize,
        extra in unknown_params(),
    ) {
        let fx = fixture();
        let base = authorize_scenario(which);
        let plain = authorize_summary(fx.authorize(&encode(&base)));
        let noisy = authorize_summary(fx.authorize(&encode(&with_inserted(base, &extra))));
        prop_assert_eq!(noisy, plain);
    }

    /// SEC-08 (with TK-01, AZ-01): arbitrary bytes as the query, the body and the Authorization
    /// header of every endpoint never panic, and every answer is a well-formed status; token
    /// endpoint answers are always JSON and never cached.
    #[test]
    fn sec08_arbitrary_bytes_as_query_or_body_never_panic(
        query in form_like_bytes(),
        body in form_like_bytes(),
        authorization in proptest::option::of(form_like_bytes()),
        method in select(vec![Method::Get, Method::Post, Method::Other]),
        form in any::<bool>(),
    ) {
        let fx = fixture();
        let mut request = Request::new(method).with_query(&query).with_body(&body);
        if form {
            request = request.with_content_type(b"application/x-www-form-urlencoded");
        }
        if let Some(a) = &authorization {
            request = request.with_authorization(a);
        }
        let token = block_on(fx.server.token(&request));
        prop_assert!((200..600).contains(&token.status()));
        prop_assert_eq!(token.header("Cache-Control"), Some("no-store"));
        prop_assert!(serde_json::from_slice::<serde_json::Value>(token.body()).is_ok());
        for response in [block_on(fx.server.revoke(&request)), block_on(fx.server.introspect(&request))] {
            prop_assert!((200..600).contains(&response.status()));
        }
        if let AuthorizeOutcome::Error { response, .. } = block_on(fx.server.authorize(&request)) {
            prop_assert!((300..600).contains(&response.status()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AZ-10: scope syntax.
// ---------------------------------------------------------------------------------------------

/// Strings over an alphabet rich in the characters at the edges of `NQCHAR` and of the
/// grammar (space, `"`, `\`, DEL, tab, non-ASCII).
fn scope_like() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        6 => select(vec!['a', 'b', 'R', ':', '/', '.']),
        4 => Just(' '),
        3 => select(vec!['!', '"', '#', '[', '\\', ']', '~', '\u{7f}', '\t', '\u{e9}', '\0', '\u{a0}']),
        1 => any::<char>(),
    ];
    proptest::collection::vec(c, 0..=12).prop_map(String::from_iter)
}

/// A well-formed scope token.
fn scope_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["read", "write", "Read", "openid", "a:b", "x/y"]).prop_map(str::to_owned),
        1 => proptest::collection::vec(proptest::char::range('!', '~').prop_filter("NQCHAR", |c| is_nqchar(*c)), 1..=6)
            .prop_map(String::from_iter),
    ]
}

/// The tokens in order, each kept the first time it appears.
fn dedup_first(tokens: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    /// AZ-10: `Scope::parse` accepts exactly `scope-token *( SP scope-token )` with `1*NQCHAR`
    /// tokens (and the empty string, the documented empty scope); what it accepts holds the
    /// tokens in order, case-sensitively, each once.
    #[test]
    fn az10_scope_parse_accepts_exactly_space_separated_nqchar_tokens(text in scope_like()) {
        let parsed = Scope::parse(&text);
        prop_assert_eq!(parsed.is_ok(), text.is_empty() || reference_scope_syntax(&text), "{:?}", text);
        if let Ok(scope) = parsed {
            let tokens: Vec<String> = if text.is_empty() { Vec::new() } else { text.split(' ').map(str::to_owned).collect() };
            let expected = dedup_first(&tokens);
            prop_assert_eq!(scope.iter().collect::<Vec<_>>(), expected.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(scope.to_string(), expected.join(" "));
        }
    }

    /// AZ-10: text form round trip, `Scope::parse(x.to_string()) == x`, and repeated tokens
    /// collapse to their first occurrence wherever the repeats are.
    #[test]
    fn az10_scope_round_trips_and_duplicates_collapse(
        tokens in proptest::collection::vec(scope_token(), 0..=6),
        repeats in proptest::collection::vec((any::<Index>(), any::<Index>()), 0..=4),
    ) {
        let scope = Scope::parse(&tokens.join(" ")).unwrap();
        prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope.clone());
        prop_assert_eq!(scope.to_string(), dedup_first(&tokens).join(" "));
        if !tokens.is_empty() {
            let mut with_repeats = tokens.clone();
            for (from, to) in &repeats {
                let token = tokens[from.index(tokens.len())].clone();
                // After the first occurrence, so that the order of first occurrences is kept.
                let first = with_repeats.iter().position(|t| *t == token).unwrap();
                let at = first + 1 + to.index(with_repeats.len() - first);
                with_repeats.insert(at, token);
            }
            prop_assert_eq!(Scope::parse(&with_repeats.join(" ")).unwrap(), scope);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PK-04, PK-05, PK-06: PKCE values.
// ---------------------------------------------------------------------------------------------

const UNRESERVED: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn chars_of(alphabet: &str) -> Vec<char> {
    alphabet.chars().collect()
}

/// `alphabet` strings with a length drawn from `len`, in about a third of the cases with one
/// character replaced by a `foreign` one (any character, at any position).
fn with_one_foreign_char(
    alphabet: &str,
    len: impl Strategy<Value = usize>,
    foreign: Vec<char>,
) -> impl Strategy<Value = String> {
    let alphabet = chars_of(alphabet);
    let foreign = prop_oneof![2 => select(foreign), 1 => any::<char>()];
    len.prop_flat_map(move |n| proptest::collection::vec(select(alphabet.clone()), n))
        .prop_flat_map(move |chars| (Just(chars), proptest::option::weighted(0.35, (any::<Index>(), foreign.clone()))))
        .prop_map(|(mut chars, replace)| {
            if let (Some((at, c)), false) = (replace, chars.is_empty()) {
                let i = at.index(chars.len());
                chars[i] = c;
            }
            String::from_iter(chars)
        })
}

/// Verifiers around both length limits, some with a foreign character.
fn verifier_like() -> impl Strategy<Value = String> {
    let len = prop_oneof![1 => 0..=42usize, 2 => 40..=46usize, 2 => 43..=128usize, 2 => 125..=131usize];
    with_one_foreign_char(UNRESERVED, len, vec!['+', '/', '=', ' ', '%', '!', '*', '\u{e9}', '\0'])
}

fn valid_verifier() -> impl Strategy<Value = String> {
    (43..=128usize)
        .prop_flat_map(|n| proptest::collection::vec(select(chars_of(UNRESERVED)), n))
        .prop_map(String::from_iter)
}

/// Mostly 43 characters of base64url (a quarter of which have clean trailing bits), sometimes
/// other lengths, some with a character from another alphabet.
fn challenge_like() -> impl Strategy<Value = String> {
    let len = prop_oneof![8 => Just(43usize), 1 => 40..=42usize, 1 => 44..=46usize];
    with_one_foreign_char(BASE64URL, len, vec!['+', '/', '=', ' ', '.', '\u{e9}'])
}

proptest! {
    #![proptest_config(config())]

    /// PK-05: `CodeVerifier::new` accepts exactly 43 to 128 characters of `[A-Za-z0-9-._~]`.
    #[test]
    fn pk05_code_verifier_accepts_exactly_43_to_128_unreserved_chars(text in verifier_like()) {
        prop_assert_eq!(CodeVerifier::new(text.clone()).is_ok(), reference_verifier(&text), "{:?}", text);
    }

    /// PK-06 (with PK-04): the S256 challenge of every valid verifier is
    /// BASE64URL(SHA256(verifier)), 43 characters, parses back, and verifies that verifier and
    /// no other.
    #[test]
    fn pk06_s256_challenge_verifies_its_verifier_and_no_other(v in valid_verifier(), w in valid_verifier()) {
        let verifier = CodeVerifier::new(v.clone()).unwrap();
        let text = CodeChallenge::s256(&verifier).to_string();
        prop_assert_eq!(text.len(), 43);
        prop_assert_eq!(&text, &URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
        let parsed = CodeChallenge::parse(&text).unwrap();
        prop_assert_eq!(&parsed, &CodeChallenge::s256(&verifier));
        prop_assert!(parsed.verify(&verifier));
        if v != w {
            prop_assert!(!parsed.verify(&CodeVerifier::new(w).unwrap()));
        }
    }

    /// PK-04: `CodeChallenge::parse` accepts exactly the canonical 43-character base64url text of
    /// 32 bytes (as the `base64` crate's strict decoder sees it), and prints it back unchanged.
    #[test]
    fn pk04_code_challenge_parse_accepts_exactly_canonical_base64url_of_32_bytes(text in challenge_like()) {
        let parsed = CodeChallenge::parse(&text);
        prop_assert_eq!(parsed.is_ok(), reference_challenge(&text), "{:?}", text);
        if let Ok(challenge) = parsed {
            prop_assert_eq!(challenge.to_string(), text);
        }
    }

    /// PK-04: any 32 bytes, base64url-encoded, are a challenge that prints back unchanged.
    #[test]
    fn pk04_every_32_byte_digest_is_a_challenge(bytes in any::<[u8; 32]>()) {
        let text = URL_SAFE_NO_PAD.encode(bytes);
        prop_assert_eq!(CodeChallenge::parse(&text).map(|c| c.to_string()), Ok(text));
    }
}

// ---------------------------------------------------------------------------------------------
// AZ-04, AZ-05: redirect URI matching.
// ---------------------------------------------------------------------------------------------

/// A registrable redirect URI built from pieces: https on any host, http on a loopback host, or
/// the private-use scheme `com.example.app`; optional port, path and query.
fn registered_uri() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        3 => "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}",
        1 => select(vec!["127.0.0.1", "[::1]", "localhost", "app.example"]).prop_map(str::to_owned),
    ];
    let loopback = select(vec!["127.0.0.1", "[::1]", "localhost"]);
    let port = proptest::option::of(prop_oneof![3 => 0u32..=65535, 1 => select(vec![80u32, 443, 8080])])
        .prop_map(|p| p.map_or(String::new(), |p| format!(":{p}")));
    let path = prop_oneof![1 => Just(String::new()), 4 => "(/[A-Za-z0-9._~%:@-]{0,6}){1,3}"];
    let query = proptest::option::of("x[a-z]{0,3}=[A-Za-z0-9%]{0,4}(&x[a-z]{0,3}=[A-Za-z0-9]{0,4}){0,2}")
        .prop_map(|q| q.map_or(String::new(), |q| format!("?{q}")));
    prop_oneof![
        2 => (host, port.clone(), path.clone(), query.clone()).prop_map(|(h, p, a, q)| format!("https://{h}{p}{a}{q}")),
        3 => (loopback, port, path.clone(), query.clone()).prop_map(|(h, p, a, q)| format!("http://{h}{p}{a}{q}")),
        // A non-empty first segment: `com.example.app:/` followed by a `/path` would start an
        // authority (`://`), which is another shape of URI.
        1 => ("[A-Za-z0-9._~-]{1,8}", path, query).prop_map(|(first, a, q)| format!("com.example.app:/{first}{a}{q}")),
    ]
}

/// One change to a candidate redirect URI.
#[derive(Debug, Clone)]
enum Mutation {
    FlipCase(Index),
    Insert(Index, char),
    Remove(Index),
    PercentEncode(Index, bool),
    SetPort(String),
    RemovePort,
    Userinfo(String),
    AfterAuthority(String),
    SwapHost(&'static str),
    SwapScheme(&'static str),
    Fragment(String),
    Append(String),
    Replace(String),
}

fn port_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u32..=65535).prop_map(|p| p.to_string()),
        1 => (65536u32..=99999).prop_map(|p| p.to_string()),
        1 => "0{1,3}[0-9]{1,3}",
        1 => "[0-9]{6,7}",
        1 => select(vec!["", "+80", "80 ", "\u{ff18}\u{ff10}", "-1", "8o", "80:80", "0x50"]).prop_map(str::to_owned),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let piece = select(vec!['/', '?', '#', '&', '=', '@', ':', '.', '%', 'a', 'A', '0', ' ', '\u{e9}', '\\']);
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::FlipCase),
        2 => (any::<Index>(), piece).prop_map(|(i, c)| Mutation::Insert(i, c)),
        2 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(i, u)| Mutation::PercentEncode(i, u)),
        8 => port_text().prop_map(Mutation::SetPort),
        2 => Just(Mutation::RemovePort),
        2 => select(vec!["user", "127.0.0.1:80", "localhost", "a:b", ""])
            .prop_map(|u| Mutation::Userinfo(u.to_owned())),
        2 => select(vec!["@attacker.test", ".attacker.test", "0", ":80", "%2F", "\\@attacker.test", "]"])
            .prop_map(|s| Mutation::AfterAuthority(s.to_owned())),
        2 => select(vec!["127.0.0.1", "[::1]", "localhost", "127.0.0.2", "LOCALHOST", "[0:0:0:0:0:0:0:1]", "[::1"])
            .prop_map(Mutation::SwapHost),
        1 => select(vec!["http", "https", "HTTP", "com.example.app", "http:"]).prop_map(Mutation::SwapScheme),
        2 => "[a-z/]{0,4}".prop_map(Mutation::Fragment),
        2 => select(vec!["/", "?", "&", "?x=1", "/..", "%20", ".", "#"]).prop_map(|s| Mutation::Append(s.to_owned())),
        1 => unicode(24).prop_map(Mutation::Replace),
    ]
}

/// The byte range of the authority of `scheme://authority...`, if there is one.
fn authority_range(uri: &str) -> Option<(usize, usize)> {
    let start = uri.find("://")? + 3;
    let end = uri[start..].find(['/', '?', '#']).map_or(uri.len(), |i| start + i);
    Some((start, end))
}

/// The length of the host at the start of `authority` (an IPv6 literal keeps its brackets).
fn host_len(authority: &str) -> usize {
    if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    }
}

fn mutate(uri: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = uri.chars().collect();
    let authority = authority_range(uri);
    match m {
        Mutation::FlipCase(i) => {
            let letters: Vec<usize> = (0..chars.len()).filter(|&k| chars[k].is_ascii_alphabetic()).collect();
            if !letters.is_empty() {
                let k = letters[i.index(letters.len())];
                chars[k] = if chars[k].is_ascii_lowercase() {
                    chars[k].to_ascii_uppercase()
                } else {
                    chars[k].to_ascii_lowercase()
                };
            }
            chars.into_iter().collect()
        }
        Mutation::Insert(i, c) => {
            chars.insert(i.index(chars.len() + 1), *c);
            chars.into_iter().collect()
        }
        Mutation::Remove(i) => {
            if !chars.is_empty() {
                chars.remove(i.index(chars.len()));
            }
            chars.into_iter().collect()
        }
        Mutation::PercentEncode(i, upper) => {
            if chars.is_empty() {
                return uri.to_owned();
            }
            let k = i.index(chars.len());
            let mut buf = [0u8; 4];
            let encoded: String = chars[k]
                .encode_utf8(&mut buf)
                .bytes()
                .map(|b| if *upper { format!("%{b:02X}") } else { format!("%{b:02x}") })
                .collect();
            let before: String = chars[..k].iter().collect();
            let after: String = chars[k + 1..].iter().collect();
            format!("{before}{encoded}{after}")
        }
        Mutation::SetPort(port) => match authority {
            Some((s, e)) => {
                let h = s + host_len(&uri[s..e]);
                format!("{}:{port}{}", &uri[..h], &uri[e..])
            }
            None => uri.to_owned(),
        },
        Mutation::RemovePort => match authority {
            Some((s, e)) => format!("{}{}", &uri[..s + host_len(&uri[s..e])], &uri[e..]),
            None => uri.to_owned(),
        },
        Mutation::Userinfo(user) => match authority {
            Some((s, _)) => format!("{}{user}@{}", &uri[..s], &uri[s..]),
            None => uri.to_owned(),
        },
        Mutation::AfterAuthority(text) => match authority {
            Some((_, e)) => format!("{}{text}{}", &uri[..e], &uri[e..]),
            None => uri.to_owned(),
        },
        Mutation::SwapHost(host) => match authority {
            Some((s, e)) => format!("{}{host}{}", &uri[..s], &uri[s + host_len(&uri[s..e])..]),
            None => uri.to_owned(),
        },
        Mutation::SwapScheme(scheme) => match uri.split_once(':') {
            Some((_, rest)) => format!("{scheme}:{rest}"),
            None => uri.to_owned(),
        },
        Mutation::Fragment(f) => format!("{uri}#{f}"),
        Mutation::Append(s) => format!("{uri}{s}"),
        Mutation::Replace(s) => s.clone(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// AZ-04, AZ-05 (and AZ-07 for the generated registrations): a requested redirect URI
    /// matches only when it is byte-equal to the registered text, or the registration is
    /// `http://127.0.0.1` / `http://[::1]` and only the port differs; `http://localhost` gets
    /// the port exemption only when the server opts in. Candidates are the registered URI
    /// after up to three mutations (case flips, insertions, removals, percent-encodings, port
    /// changes, userinfo, fragments, host and scheme swaps) or arbitrary text. The authorization
    /// endpoint agrees: it asks for consent exactly when the reference matches (an empty
    /// `redirect_uri` is omitted, so the single registered one is used).
    #[test]
    fn az04_redirect_matching_accepts_only_equal_strings_or_loopback_port_changes(
        registered in registered_uri(),
        mutations in proptest::collection::vec(mutation(), 0..=3),
    ) {
        let uri = RedirectUri::new(registered.clone());
        prop_assert!(uri.is_ok(), "AZ-07 refused {:?}: {:?}", registered, uri);
        let uri = uri.unwrap();
        let candidate = mutations.iter().fold(registered.clone(), |c, m| mutate(&c, m));
        let expected = reference_redirect_match(&registered, &candidate, false);
        prop_assert_eq!(uri.matches(&candidate, false), expected, "{:?} vs {:?}", registered, candidate);
        let lenient = reference_redirect_match(&registered, &candidate, true);
        prop_assert_eq!(uri.matches(&candidate, true), lenient, "localhost opt-in: {:?} vs {:?}", registered, candidate);

        let fx = fixture();
        let client = Client::public("rp").redirect_uri(registered.clone()).scope("read").default_scope("read").build();
        fx.store.insert_client(client.unwrap());
        let query = encode(&pairs(&[
            ("response_type", "code"),
            ("client_id", "rp"),
            ("redirect_uri", &candidate),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]));
        match fx.authorize(&query) {
            AuthorizeOutcome::Consent(consent) => {
                prop_assert!(expected || candidate.is_empty(), "consent for {:?} vs {:?}", registered, candidate);
                let target = if candidate.is_empty() { &registered } else { &candidate };
                prop_assert_eq!(consent.redirect_uri(), target.as_str());
            }
            AuthorizeOutcome::Error { error, response } => {
                prop_assert!(!expected && !candidate.is_empty(), "{:?} for {:?} vs {:?}", error, registered, candidate);
                prop_assert_eq!(error, AuthorizeError::UnregisteredRedirectUri);
                prop_assert!(response.location().is_none(), "an unregistered redirect_uri was redirected to");
            }
            _ => unreachable!("a variant this code does not know"),
        }
    }

    /// AZ-05: for a loopback IP registration, every valid port (or none) in the request
    /// matches, with everything else unchanged; an out-of-range or malformed port never does.
    #[test]
    fn az05_loopback_ip_registrations_match_every_valid_port_and_nothing_else(
        host in select(vec!["127.0.0.1", "[::1]"]),
        registered_port in proptest::option::of(0u32..=65535),
        path in "(/[a-z]{0,4}){0,2}(\\?x=[0-9])?",
        port in port_text(),
    ) {
        let registered = format!(
            "http://{host}{}{path}",
            registered_port.map_or(String::new(), |p| format!(":{p}"))
        );
        let uri = RedirectUri::new(registered.clone()).unwrap();
        let candidate = format!("http://{host}:{port}{path}");
        let valid_port = (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65535);
        prop_assert_eq!(uri.matches(&candidate, false), valid_port, "{:?} vs {:?}", registered, candidate);
        let without_port = format!("http://{host}{path}");
        prop_assert!(uri.matches(&without_port, false), "{:?} vs {:?}", registered, without_port);
    }
}
