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
        push_string(&mut self.out, name);
        self.out.push(b':');
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
    out.push(b'"');
    let bytes = value.as_bytes();
    // One branch-free pass the compiler vectorises; escaping is the rare case.
    let plain = bytes.iter().fold(true, |plain, &b| plain & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
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

/// Appends `value` in decimal.
fn push_integer(out: &mut Vec<u8>, value: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
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
