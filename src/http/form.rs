//! The strict `application/x-www-form-urlencoded` reader every endpoint uses, and the encoder
//! for redirects and form bodies (OAuth 2.1 Appendix B).

use std::borrow::Cow;

/// Why a query string or form body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The input is longer than the configured limit (SEC-08).
    #[error("the request parameters exceed the size limit")]
    TooLarge,
    /// A `%` is not followed by two hex digits.
    #[error("the request contains a malformed percent escape")]
    BadEscape,
    /// A decoded name or value is not UTF-8.
    #[error("the request parameters are not valid UTF-8")]
    InvalidUtf8,
}

/// Decoded `application/x-www-form-urlencoded` pairs, in order, with empty values dropped.
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A defined parameter appeared more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeated(pub &'static str);

impl<'a> Params<'a> {
    /// Parses `input` after checking it against `limit` bytes.
    pub(crate) fn parse(input: &'a [u8], limit: usize) -> Result<Self, ParamError> {
        if input.len() > limit {
            return Err(ParamError::TooLarge);
        }
        if input.is_empty() {
            return Ok(Self { pairs: Vec::new() });
        }
        // One allocation: a pair per separator at most.
        let mut pairs = Vec::with_capacity(input.iter().filter(|&&b| b == b'&').count() + 1);
        for part in input.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            // 2.1 App. B / §3.1: a parameter sent without a value is treated as omitted.
            if name.is_empty() || value.is_empty() {
                continue;
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The value of the defined parameter `name`; an error if it was sent more than once.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (n, v) in &self.pairs {
            if n == name {
                if found.is_some() {
                    return Err(Repeated(name));
                }
                found = Some(v.as_ref());
            }
        }
        Ok(found)
    }

    /// Every value of a parameter that may repeat (`resource`, RFC 8707), in order.
    pub(crate) fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_ref())
    }

    /// The first of `names` that appears more than once.
    pub(crate) fn first_repeated(&self, names: &[&'static str]) -> Option<Repeated> {
        names.iter().find_map(|n| self.get(n).err())
    }

    /// Whether any of `names` appears at all.
    pub(crate) fn contains_any(&self, names: &[&str]) -> bool {
        self.pairs.iter().any(|(n, _)| names.contains(&n.as_ref()))
    }
}

/// Decodes one form-urlencoded component: `+` is a space, `%XX` a byte, the result UTF-8.
pub(crate) fn decode_component(raw: &[u8]) -> Result<Cow<'_, str>, ParamError> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|_| ParamError::InvalidUtf8);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&b| hex_value(b));
                let lo = raw.get(i + 2).and_then(|&b| hex_value(b));
                let (Some(hi), Some(lo)) = (hi, lo) else { return Err(ParamError::BadEscape) };
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| ParamError::InvalidUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes `pairs` as `application/x-www-form-urlencoded` (space as `+`, everything outside
/// `*-._` and alphanumerics percent-encoded).
pub(crate) fn encode_form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        append_form_component(&mut out, name);
        out.push('=');
        append_form_component(&mut out, value);
    }
    out
}

/// Appends `text` in the WHATWG `application/x-www-form-urlencoded` serialisation (2.1 App. B):
/// ASCII letters, digits and `*-._` as they are, space as `+`, every other byte as `%XX`.
pub(crate) fn append_form_component(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tk02_empty_values_are_omitted_and_repeats_are_errors() {
        let p = Params::parse(b"a=1&b=&c&a=&d=%20", 100).unwrap();
        assert_eq!(p.get("a"), Ok(Some("1")));
        assert_eq!(p.get("b"), Ok(None));
        assert_eq!(p.get("c"), Ok(None));
        assert_eq!(p.get("d"), Ok(Some(" ")));
        let p = Params::parse(b"a=1&a=2", 100).unwrap();
        assert_eq!(p.get("a"), Err(Repeated("a")));
    }

    #[test]
    fn sec08_oversized_malformed_and_non_utf8_inputs_are_refused() {
        assert_eq!(Params::parse(&[b'a'; 101], 100).unwrap_err(), ParamError::TooLarge);
        assert_eq!(Params::parse(b"a=%zz", 100).unwrap_err(), ParamError::BadEscape);
        assert_eq!(Params::parse(b"a=%4", 100).unwrap_err(), ParamError::BadEscape);
        assert_eq!(Params::parse(b"a=%ff", 100).unwrap_err(), ParamError::InvalidUtf8);
        assert_eq!(Params::parse(b"a=\xff", 100).unwrap_err(), ParamError::InvalidUtf8);
    }

    #[test]
    fn form_encoding_vector_from_the_checklist() {
        let text = "\u{20}\u{25}\u{26}\u{2b}\u{a3}\u{20ac}";
        assert_eq!(encode_form(&[("v", text)]), "v=+%25%26%2B%C2%A3%E2%82%AC");
        let p = Params::parse(b"v=+%25%26%2B%C2%A3%E2%82%AC", 100).unwrap();
        assert_eq!(p.get("v"), Ok(Some(text)));
    }
}
