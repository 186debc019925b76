//! The strict `application/x-www-form-urlencoded` reader every endpoint uses, and the encoder
//! for redirects and form bodies (OAuth 2.1 Appendix B).

use std::borrow::Cow;

use crate::bytes::FORM_UNRESERVED;

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
        // Nearly every request is UTF-8 as a whole: validated once, its unescaped names and
        // values are borrowed without a second look. Anything else takes the byte-wise path,
        // which decodes before validating, so the two agree on every input.
        let Ok(text) = std::str::from_utf8(input) else { return Self::parse_bytes(input) };
        let mut reader =
            PairReader { text, pairs: Vec::with_capacity(count_separators(input) + 1), ..PairReader::default() };
        // Eight bytes at a time: a mask of the bytes that matter, then only those are visited.
        // The tail is padded with zeros, which matter to no one.
        let mut offset = 0;
        for word in crate::bytes::whole_words(input) {
            visit_special(&mut reader, offset, word)?;
            offset += 8;
        }
        visit_special(&mut reader, offset, crate::bytes::tail_word(input, 0))?;
        reader.visit(input.len(), SEPARATOR)?;
        Ok(Self { pairs: reader.pairs })
    }

    /// The byte-wise reader: each name and value is percent-decoded, then checked for UTF-8.
    fn parse_bytes(input: &'a [u8]) -> Result<Self, ParamError> {
        let mut pairs = Vec::with_capacity(count_separators(input) + 1);
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

    /// The values of the defined parameters `names`, read in one pass, in `names`' order; an
    /// error names the first of `names` that appears more than once.
    pub(crate) fn defined<const N: usize>(&self, names: &[&'static str; N]) -> Result<[Option<&str>; N], Repeated> {
        let mut values = [None; N];
        let mut repeated = N;
        for (name, value) in &self.pairs {
            if let Some(i) = names.iter().position(|n| n == name) {
                match values[i] {
                    Some(_) => repeated = repeated.min(i),
                    None => values[i] = Some(value.as_ref()),
                }
            }
        }
        match names.get(repeated) {
            Some(name) => Err(Repeated(name)),
            None => Ok(values),
        }
    }

    /// Every value of a parameter that may repeat (`resource`, RFC 8707), in order.
    pub(crate) fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_ref())
    }

    /// The first of `names` that appears more than once.
    pub(crate) fn first_repeated(&self, names: &[&'static str]) -> Option<Repeated> {
        // A request of no more pairs than `names` (nearly every one) is first checked for any
        // repeat among its own pairs, at most `names.len()²/2` short compares; a longer one
        // goes straight to the search by name, linear in its pairs. Without that bound, a host
        // that reads large bodies would let one request cost pairs²/2 compares.
        let pairs = &self.pairs;
        let short = pairs.len() <= names.len();
        if short && !pairs.iter().enumerate().any(|(i, (name, _))| pairs[..i].iter().any(|(n, _)| n == name)) {
            return None;
        }
        names.iter().find_map(|n| self.get(n).err())
    }

    /// Whether any of `names` appears at all.
    pub(crate) fn contains_any(&self, names: &[&str]) -> bool {
        self.pairs.iter().any(|(n, _)| names.contains(&n.as_ref()))
    }
}

const ORDINARY: u8 = 0;
const SEPARATOR: u8 = 1;
const EQUALS: u8 = 2;
const ESCAPE: u8 = 3;

/// What each byte means to the form reader.
static BYTE_CLASS: [u8; 256] = {
    let mut class = [ORDINARY; 256];
    class[b'&' as usize] = SEPARATOR;
    class[b'=' as usize] = EQUALS;
    class[b'%' as usize] = ESCAPE;
    class[b'+' as usize] = ESCAPE;
    class
};

/// Visits the bytes of `word` (eight bytes of the input from `offset`, little-endian) that are
/// `&`, `=`, `%` or `+`, in order.
#[inline(always)]
fn visit_special(reader: &mut PairReader<'_>, offset: usize, word: u64) -> Result<(), ParamError> {
    let mut mask = special_bytes(word);
    while mask != 0 {
        let i = offset + (mask.trailing_zeros() / 8) as usize;
        reader.visit(i, BYTE_CLASS[usize::from(reader.text.as_bytes()[i])])?;
        mask &= mask - 1;
    }
    Ok(())
}

/// The top bit of each byte of `word` that is `&`, `=`, `%` or `+`, and no other bit: four
/// exact byte compares in one register (SWAR), with no carry from one byte into the next.
fn special_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const EACH: u64 = 0x0101_0101_0101_0101;
    // Top bit set exactly where a byte of `x` is zero: `(b & 0x7f) + 0x7f` reaches the top bit
    // for any non-zero low seven bits and never carries out of its byte.
    let zero_bytes = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let equal_to = |b: u8| zero_bytes(word ^ (EACH * u64::from(b)));
    equal_to(b'&') | equal_to(b'=') | equal_to(b'%') | equal_to(b'+')
}

/// The pairs of a UTF-8 form read so far, and the one being read: where it starts, where its
/// first `=` is, and whether its name or value holds an escape. `&`, `=`, `%` and `+` are
/// ASCII, so every cut is a character boundary.
#[derive(Default)]
struct PairReader<'a> {
    text: &'a str,
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    start: usize,
    equals: Option<usize>,
    escaped: [bool; 2],
}

impl<'a> PairReader<'a> {
    /// Takes note of the byte at `i` of class `class`.
    fn visit(&mut self, i: usize, class: u8) -> Result<(), ParamError> {
        match class {
            ORDINARY => {}
            ESCAPE => self.escaped[usize::from(self.equals.is_some())] = true,
            EQUALS => {
                self.equals.get_or_insert(i);
            }
            _ => {
                let text = self.text;
                let (name, value) = match self.equals {
                    Some(e) => (&text[self.start..e], &text[e + 1..i]),
                    None => (&text[self.start..i], ""),
                };
                let name = decode_str(name, self.escaped[0])?;
                let value = decode_str(value, self.escaped[1])?;
                // 2.1 App. B / §3.1: a parameter sent without a value is treated as omitted.
                if !name.is_empty() && !value.is_empty() {
                    self.pairs.push((name, value));
                }
                (self.start, self.equals, self.escaped) = (i + 1, None, [false; 2]);
            }
        }
        Ok(())
    }
}

/// How many `&` separate the pairs of `input`, counted 32 bytes at a time into a byte-wide sum
/// the compiler vectorises.
fn count_separators(input: &[u8]) -> usize {
    let mut blocks = input.chunks_exact(32);
    let mut count = 0;
    for block in &mut blocks {
        count += usize::from(block.iter().map(|&b| u8::from(b == b'&')).sum::<u8>());
    }
    count + blocks.remainder().iter().filter(|&&b| b == b'&').count()
}

/// A name or value of text already known to be UTF-8: borrowed unless it holds escapes.
fn decode_str(raw: &str, escaped: bool) -> Result<Cow<'_, str>, ParamError> {
    if escaped { percent_decode(raw.as_bytes()).map(Cow::Owned) } else { Ok(Cow::Borrowed(raw)) }
}

/// Decodes one form-urlencoded component: `+` is a space, `%XX` a byte, the result UTF-8.
pub(crate) fn decode_component(raw: &[u8]) -> Result<Cow<'_, str>, ParamError> {
    if raw.iter().any(|&b| BYTE_CLASS[usize::from(b)] == ESCAPE) {
        percent_decode(raw).map(Cow::Owned)
    } else {
        std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|_| ParamError::InvalidUtf8)
    }
}

/// `+` as a space and `%XX` as its byte, then the whole checked for UTF-8.
fn percent_decode(raw: &[u8]) -> Result<String, ParamError> {
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
    String::from_utf8(out).map_err(|_| ParamError::InvalidUtf8)
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
    let bytes = text.as_bytes();
    // A code, a token or a state needs no escape, usually: one table pass, one copy.
    if FORM_UNRESERVED.contains_all(bytes) {
        out.push_str(text);
        return;
    }
    // Runs of unreserved bytes are copied whole. A run is ASCII, so a non-empty run starts and
    // ends on character boundaries; an empty one may sit inside a character, and `get` then
    // yields nothing, which is what it holds.
    let mut start = 0;
    loop {
        // `start` is at most the length: it is 0, or one past a byte that was there.
        let end = start + FORM_UNRESERVED.leading(bytes.get(start..).unwrap_or_default());
        out.push_str(text.get(start..end).unwrap_or_default());
        let Some(&b) = bytes.get(end) else { break };
        if b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        start = end + 1;
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
    fn tk02_defined_parameters_are_read_in_one_pass_and_a_repeat_is_named() {
        let p = Params::parse(b"b=2&x=9&a=1&c=", 100).unwrap();
        assert_eq!(p.defined(&["a", "b", "c"]), Ok([Some("1"), Some("2"), None]));
        // The first repeated name in the order asked for, whatever order they came in.
        let p = Params::parse(b"b=1&b=2&a=1&a=2", 100).unwrap();
        assert_eq!(p.defined(&["a", "b"]), Err(Repeated("a")));
        assert_eq!(p.defined(&["b", "a"]), Err(Repeated("b")));
        assert_eq!(p.defined(&["b", "a"]).err(), p.first_repeated(&["b", "a"]));
    }

    #[test]
    fn tk02_a_repeat_is_found_in_short_and_long_requests_alike() {
        let names = ["a", "b", "c"];
        let by_name = |p: &Params<'_>| names.iter().find_map(|n| p.get(n).err());
        for (form, expected) in [
            (&b"a=1&b=2"[..], None),
            (b"x=1&x=2", None),
            (b"b=1&b=2", Some(Repeated("b"))),
            (b"a=1&b=2&b=3", Some(Repeated("b"))),
            (b"x=1&y=2&z=3&w=4", None),
            (b"x=1&y=2&c=3&w=4&c=5", Some(Repeated("c"))),
            (b"x=1&x=2&b=3&w=4&a=5&a=6", Some(Repeated("a"))),
        ] {
            let p = Params::parse(form, 100).unwrap();
            assert_eq!(p.first_repeated(&names), expected, "{}", String::from_utf8_lossy(form));
            assert_eq!(p.first_repeated(&names), by_name(&p));
        }
    }

    /// A request of many distinct pairs is searched by name (names x pairs compares), never
    /// pair against pair: 100,000 pairs would take billions of compares, minutes, that way.
    #[test]
    fn tk02_a_long_request_is_searched_by_name_not_pair_against_pair() {
        let names = ["a", "b", "c"];
        let mut form = (0..100_000).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join("&");
        let p = Params::parse(form.as_bytes(), usize::MAX).unwrap();
        assert_eq!(p.first_repeated(&names), None);
        form.push_str("&c=1&c=2");
        let p = Params::parse(form.as_bytes(), usize::MAX).unwrap();
        assert_eq!(p.first_repeated(&names), Some(Repeated("c")));
    }

    #[test]
    fn sec08_oversized_malformed_and_non_utf8_inputs_are_refused() {
        assert_eq!(Params::parse(&[b'a'; 101], 100).unwrap_err(), ParamError::TooLarge);
        assert_eq!(Params::parse(b"a=%zz", 100).unwrap_err(), ParamError::BadEscape);
        assert_eq!(Params::parse(b"a=%4", 100).unwrap_err(), ParamError::BadEscape);
        assert_eq!(Params::parse(b"a=%ff", 100).unwrap_err(), ParamError::InvalidUtf8);
        assert_eq!(Params::parse(b"a=\xff", 100).unwrap_err(), ParamError::InvalidUtf8);
    }

    /// Bytes that steer the reader: separators, escapes, hex digits, multi-byte UTF-8 (é, €)
    /// and bytes that are never UTF-8 on their own.
    fn form_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let pieces: Vec<&'static [u8]> = vec![
            b"&",
            b"=",
            b"%",
            b"+",
            b"a",
            b"Z",
            b"0",
            b"9",
            b"f",
            b"%C3",
            b"%A9",
            b"%zz",
            b"\xc3\xa9",
            b"\xe2\x82\xac",
            b"\xc3",
            b"\xa9",
            b"\xff",
            b" ",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..40).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2048, failure_persistence: None, ..Default::default() })]

        /// tk02: the UTF-8 fast path reads every input exactly as the byte-wise reader does:
        /// the same pairs in the same order, or the same error.
        #[test]
        fn tk02_the_fast_reader_agrees_with_the_byte_wise_reader(input in form_bytes()) {
            let fast = Params::parse(&input, usize::MAX).map(|p| p.pairs);
            let bytes = if input.is_empty() { Ok(Vec::new()) } else { Params::parse_bytes(&input).map(|p| p.pairs) };
            proptest::prop_assert_eq!(fast, bytes);
        }
    }

    #[test]
    fn tk02_raw_and_escaped_halves_of_one_character_decode_together() {
        // Not UTF-8 as sent, UTF-8 once decoded: the byte-wise path decodes before it checks.
        let p = Params::parse(b"v=\xc3%A9&w=%E2%82\xac", 100).unwrap();
        assert_eq!(p.get("v"), Ok(Some("\u{e9}")));
        assert_eq!(p.get("w"), Ok(Some("\u{20ac}")));
        assert!(matches!(p.pairs[0].1, Cow::Owned(_)));
        // Unescaped text is borrowed from the request, escaped text decoded into its own string.
        let p = Params::parse(b"a=plain&b=x%20y", 100).unwrap();
        assert!(matches!(p.pairs[0].1, Cow::Borrowed("plain")));
        assert!(matches!(&p.pairs[1].1, Cow::Owned(s) if s == "x y"));
    }

    #[test]
    fn the_pairs_are_collected_in_one_vector_sized_from_the_separators() {
        // Five parts, one without a value and two empty (all dropped): room for five, reserved once.
        let p = Params::parse(b"a=1&b=&c=3&&", 100).unwrap();
        assert_eq!(p.pairs.len(), 2);
        assert_eq!(p.pairs.capacity(), 5, "one slot per separator plus one, no regrowth");
        let p = Params::parse("é=1&x=%C3%A9".as_bytes(), 100).unwrap();
        assert_eq!((p.pairs.len(), p.pairs.capacity()), (2, 2));
        let p = Params::parse(b"\xc3%A9=1", 100).unwrap();
        assert_eq!((p.pairs.len(), p.pairs.capacity()), (1, 1), "the byte-wise reader sizes it the same way");
    }

    #[test]
    fn special_bytes_are_found_exactly_whatever_their_neighbours() {
        let reference = |bytes: [u8; 8]| {
            bytes.iter().enumerate().filter(|(_, b)| b"&=%+".contains(b)).fold(0_u64, |m, (i, _)| m | 0x80 << (8 * i))
        };
        // Every byte value at every place, among neighbours that would expose a carry or a
        // borrow between bytes (0x00, 0x7f, 0x80, 0xff) or are special themselves.
        for byte in 0..=u8::MAX {
            for filler in [0x00, 0x7f, 0x80, 0xff, b'a', b'&', b'%'] {
                for place in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[place] = byte;
                    assert_eq!(special_bytes(u64::from_le_bytes(bytes)), reference(bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn a_component_is_decoded_wherever_its_escape_stands_and_borrowed_without_one() {
        for len in 1..=20 {
            for at in 0..len {
                let mut raw = vec![b'a'; len];
                raw[at] = b'+';
                let mut spaced = raw.clone();
                spaced[at] = b' ';
                assert_eq!(decode_component(&raw).unwrap(), String::from_utf8(spaced).unwrap(), "+ at {at} of {len}");
                raw[at] = b'%';
                raw.splice(at + 1..at + 1, *b"3D");
                let mut equals = vec![b'a'; len];
                equals[at] = b'=';
                assert_eq!(decode_component(&raw).unwrap(), String::from_utf8(equals.clone()).unwrap(), "%3D at {at}");
                // `&` and `=` need no decoding: borrowed as they are.
                assert!(matches!(decode_component(&equals).unwrap(), Cow::Borrowed(_)), "= at {at} of {len}");
                raw.truncate(at + 1);
                assert_eq!(decode_component(&raw), Err(ParamError::BadEscape), "a bare % at {at}");
            }
        }
        assert!(matches!(decode_component(b"").unwrap(), Cow::Borrowed("")));
    }

    #[test]
    fn separators_are_counted_in_every_block_and_in_the_tail() {
        for len in [0_usize, 1, 31, 32, 33, 64, 70] {
            let every_third: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { b'&' } else { b'a' }).collect();
            assert_eq!(count_separators(&every_third), len.div_ceil(3), "{len}");
            assert_eq!(count_separators(&vec![b'&'; len]), len);
        }
    }

    /// The serialisation byte by byte, as 2.1 App. B states it.
    fn reference_encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => char::from(b).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 1024, failure_persistence: None, ..Default::default() })]

        /// Any text, ASCII or not, is encoded as the byte-wise rule says, and reads back as itself.
        #[test]
        fn form_encoding_matches_the_byte_wise_rule_and_round_trips(text in "[a-z0-9 %+&=._~\u{e9}\u{20ac}\u{1f600}]{0,24}|\\PC{0,12}") {
            let mut encoded = String::new();
            append_form_component(&mut encoded, &text);
            proptest::prop_assert_eq!(&encoded, &reference_encode(&text));
            let form = format!("v={encoded}");
            let read = Params::parse(form.as_bytes(), usize::MAX).unwrap();
            proptest::prop_assert_eq!(read.get("v").unwrap(), Some(text.as_str()).filter(|t| !t.is_empty()));
        }
    }

    #[test]
    fn form_encoding_vector_from_the_checklist() {
        let text = "\u{20}\u{25}\u{26}\u{2b}\u{a3}\u{20ac}";
        assert_eq!(encode_form(&[("v", text)]), "v=+%25%26%2B%C2%A3%E2%82%AC");
        let p = Params::parse(b"v=+%25%26%2B%C2%A3%E2%82%AC", 100).unwrap();
        assert_eq!(p.get("v"), Ok(Some(text)));
    }
}
