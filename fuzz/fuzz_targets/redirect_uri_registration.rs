//! `RedirectUri::new` and `RedirectUri::matches` on arbitrary strings.
//!
//! Input (lines): the URI to register, then candidate `redirect_uri` values, one a line.
//!
//! Asserts: no panic. An accepted URI is kept verbatim, has no `#`, no `@` in its authority, a
//! lower-case scheme, `http` only on a loopback host, and no reserved response parameter in its
//! query. It matches itself; its loopback-port variants match; any other candidate (and a few
//! near misses derived from the URI) matches only when equal or a loopback-port variant, as an
//! oracle written from RFC 8252 §7.3 decides (`localhost` only with `localhost_any_port`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::RedirectUri;
use oauth21_fuzz::loopback_port_variant;

fn check_candidate(uri: &RedirectUri, candidate: &str) {
    for any in [false, true] {
        let matched = uri.matches(candidate, any);
        let expected = candidate == uri.as_str() || loopback_port_variant(uri.as_str(), candidate, any);
        assert_eq!(matched, expected, "{:?}.matches({candidate:?}, {any})", uri.as_str());
    }
}

/// The authority of `scheme://authority/...`, RFC 3986 §3.2: up to `/`, `?` or `#`.
fn authority(uri: &str) -> Option<&str> {
    let rest = &uri[uri.find(':')? + 1..];
    let rest = rest.strip_prefix("//")?;
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let raw = lines.next().unwrap_or("");
    let Ok(uri) = RedirectUri::new(raw) else {
        return;
    };
    let s = uri.as_str();
    assert_eq!(s, raw, "registration must keep the exact text");
    assert!(!s.is_empty() && s.len() <= 2048);
    assert!(s.bytes().all(|b| b.is_ascii_graphic()), "non-visible character accepted");
    assert!(!s.contains('#'), "fragment accepted");
    let (scheme, _) = s.split_once(':').expect("accepted URI has a scheme");
    assert!(scheme.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b)));
    assert!(scheme.as_bytes()[0].is_ascii_lowercase());
    if let Some(a) = authority(s) {
        assert!(!a.contains('@'), "userinfo accepted: {s:?}");
    }
    if scheme == "http" {
        let a = authority(s).expect("http URI without an authority");
        let host = match a.strip_prefix('[') {
            Some(_) => &a[..a.find(']').map_or(a.len(), |i| i + 1)],
            None => a.split(':').next().unwrap(),
        };
        assert!(matches!(host, "127.0.0.1" | "[::1]" | "localhost"), "http on a non-loopback host: {s:?}");
    }
    if scheme == "https" {
        assert!(authority(s).is_some_and(|a| !a.is_empty()), "https without a host: {s:?}");
    } else if scheme != "http" {
        assert!(scheme.contains('.'), "private-use scheme without a dot: {s:?}");
    }
    if let Some((_, query)) = s.split_once('?') {
        for pair in query.split('&') {
            let name = pair.split('=').next().unwrap_or("");
            assert!(!["code", "state", "iss", "error", "error_description", "error_uri"].contains(&name));
        }
    }

    // It matches itself, whatever the option.
    assert!(uri.matches(s, false) && uri.matches(s, true));

    // Its loopback-port variants match; near misses do not.
    let mut derived: Vec<String> = Vec::new();
    if let Some(a) = authority(s) {
        let start = s.find("//").unwrap() + 2;
        let end = start + a.len();
        let host_end =
            if a.starts_with('[') { a.find(']').map_or(a.len(), |i| i + 1) } else { a.find(':').unwrap_or(a.len()) };
        let host = &s[start..start + host_end];
        for port in ["", ":0", ":1", ":8080", ":65535", ":65536", ":080", ":", ":1x", ":123456"] {
            derived.push(format!("{}{}{}{}", &s[..start], host, port, &s[end..]));
        }
        derived.push(format!("{}{}@evil.example{}", &s[..start], a, &s[end..]));
        derived.push(format!("{}{}.evil.example{}", &s[..start], host, &s[end..]));
        derived.push(format!("{}{}{}", &s[..start], host.to_uppercase(), &s[end..]));
        if scheme == "http" {
            derived.push(format!("https{}", &s[4..]));
        }
    }
    derived.push(format!("{s}/"));
    derived.push(format!("{s}#x"));
    derived.push(format!("{s}?x=1"));
    derived.push(s[..s.len() - 1].to_owned());
    derived.push(s.to_uppercase());
    for candidate in derived.iter().map(String::as_str).chain(lines.take(16)) {
        check_candidate(&uri, candidate);
    }
});
