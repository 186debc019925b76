//! A writer for the flat JSON objects of the hot answers (token, introspection): members go
//! straight into one buffer sized up front, with no serializer state and no second pass.
//! Strings are escaped exactly as `serde_json` escapes them, so either may write any answer.

/// One JSON object being written. Member names are the crate's own ASCII constants.
pub(crate) struct JsonObject {
    out: Vec<u8>,
    empty: bool,
}

impl JsonObject {
    /// An empty object with room for about `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(b'{');
        Self { out, empty: true }
    }

    fn name(&mut self, name: &'static str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        // Names are the crate's own constants, with nothing to escape.
        debug_assert!(!needs_escaping(name.as_bytes()));
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Adds `"name":"value"`.
    pub(crate) fn string(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.name(name);
        push_string(&mut self.out, value);
        self
    }

    /// Adds `"name":"value"` when there is a value.
    pub(crate) fn optional_string(&mut self, name: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.string(name, value);
        }
        self
    }

    /// Adds `"name":"value"` for text held as bytes: ASCII (a minted token, a JWT, a scope, most
    /// ids) is written without the UTF-8 check a `&str` costs; other bytes are read as UTF-8
    /// (any invalid sequence replaced), so the answer is always JSON.
    pub(crate) fn text(&mut self, name: &'static str, value: &[u8]) -> &mut Self {
        self.name(name);
        if value.is_ascii() {
            push_bytes(&mut self.out, value);
        } else {
            push_string(&mut self.out, &String::from_utf8_lossy(value));
        }
        self
    }

    /// [`JsonObject::text`] when there is a value.
    pub(crate) fn optional_text(&mut self, name: &'static str, value: Option<&[u8]>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value);
        }
        self
    }

    /// Adds `"name":number`.
    pub(crate) fn integer(&mut self, name: &'static str, value: i64) -> &mut Self {
        self.name(name);
        push_integer(&mut self.out, value);
        self
    }

    /// Adds `"name":true` or `"name":false`.
    pub(crate) fn boolean(&mut self, name: &'static str, value: bool) -> &mut Self {
        self.name(name);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Adds `"name":{...}`, its members written by `members`.
    pub(crate) fn object(&mut self, name: &'static str, members: impl FnOnce(&mut JsonObject)) -> &mut Self {
        self.name(name);
        let mut inner = JsonObject { out: std::mem::take(&mut self.out), empty: true };
        inner.out.push(b'{');
        members(&mut inner);
        self.out = inner.finish();
        self
    }

    /// The finished object.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// Appends `value` as a JSON string. Text with nothing to escape (every token, scope, id and
/// URL this crate writes) is copied whole.
fn push_string(out: &mut Vec<u8>, value: &str) {
    push_bytes(out, value.as_bytes());
}

/// [`push_string`] for the bytes of a text (UTF-8, which the caller has made sure of).
fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    if !needs_escaping(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            // Every other control character: `\u00XX`, written below.
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Whether any byte of `bytes` is `"`, `\\` or a control character, eight bytes at a time (the
/// strings here are short, so a word beats both a byte loop and vector set-up).
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Exact for "some byte is below n" (n <= 128): a borrow only starts at such a byte.
    let has_below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGHS != 0;
    let has_byte = |word: u64, b: u8| has_below(word ^ (ONES * u64::from(b)), 1);
    let special = |word: u64| has_below(word, 0x20) | has_byte(word, b'"') | has_byte(word, b'\\');
    // The tail padded with a byte that needs nothing.
    crate::bytes::whole_words(bytes).any(special) || special(crate::bytes::tail_word(bytes, b'a'))
}

/// Appends `value` in decimal.
fn push_integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 1024, failure_persistence: None, ..Default::default() })]

        /// Strings and integers come out byte for byte as `serde_json` writes them.
        #[test]
        fn members_are_written_exactly_as_serde_json_writes_them(
            text in "[a-z\"\\\\/\\u{0}-\\u{1f}\\u{7f}\\u{e9}\\u{2028}\\u{1f600} ]{0,24}",
            number: i64,
            flag: bool,
        ) {
            // Members in name order, as serde_json's map keeps them.
            let mut object = JsonObject::with_capacity(8);
            object.boolean("b", flag).integer("n", number).optional_string("none", None);
            object.object("o", |inner| {
                inner.string("t", &text);
            });
            object.string("s", &text);
            let expected = serde_json::json!({ "s": text, "n": number, "b": flag, "o": { "t": text } });
            proptest::prop_assert_eq!(String::from_utf8(object.finish()).unwrap(), expected.to_string());
        }

        /// Text held as bytes comes out as the same text would: ASCII as `string` writes it,
        /// anything else still as JSON, never as raw bytes that are not UTF-8.
        #[test]
        fn bytes_are_written_as_their_text_and_never_break_the_json(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
        ) {
            let mut object = JsonObject::with_capacity(8);
            object.text("a", &bytes).optional_text("none", None).optional_text("o", Some(&bytes[..]));
            let text = String::from_utf8_lossy(&bytes);
            let expected = serde_json::json!({ "a": text, "o": text });
            proptest::prop_assert_eq!(String::from_utf8(object.finish()).unwrap(), expected.to_string());
        }
    }

    #[test]
    fn every_byte_that_needs_escaping_is_seen_at_every_position() {
        for len in 1..=24 {
            for at in 0..len {
                for b in (0..0x20).chain([b'"', b'\\']) {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    assert!(needs_escaping(&text), "{b:#x} at {at} of {len}");
                }
                // Neighbours of the special bytes, and bytes of multi-byte characters, need nothing.
                for b in [0x20, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff] {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    assert!(!needs_escaping(&text), "{b:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escaping(b""));
    }

    #[test]
    fn the_extreme_integers_and_an_empty_object() {
        for n in [0, -1, 9, 10, i64::MIN, i64::MAX] {
            let mut object = JsonObject::with_capacity(0);
            object.integer("n", n);
            assert_eq!(object.finish(), format!(r#"{{"n":{n}}}"#).into_bytes());
        }
        assert_eq!(JsonObject::with_capacity(0).finish(), b"{}");
    }
}
