//! JSON without duplicate member names at any depth (RFC 7515 §5.2 lets a parser keep the last
//! one, so two parsers could read one token differently).

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::JoseError;

/// Parses `bytes` as strict JSON (no duplicate member at any depth, nothing after the value).
pub(crate) fn strict_json(bytes: &[u8]) -> Result<Value, JoseError> {
    parse_strict_json(bytes).map_err(|_| JoseError::Malformed("the payload is not strict JSON"))
}

/// Parses JSON, refusing duplicate member names at any depth and any trailing data.
pub(crate) fn parse_strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = deserializer.deserialize_any(StrictVisitor)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate member names")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let Strict(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_refuses_duplicates_at_any_depth() {
        assert!(parse_strict_json(br#"{"a":1,"b":{"c":2}}"#).is_ok());
        assert!(parse_strict_json(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict_json(br#"{"a":[{"c":1,"c":1}]}"#).is_err());
        assert!(parse_strict_json(br#"{"a":1} x"#).is_err());
    }

    /// Strictness refuses duplicates and nothing else: every other document reads exactly as
    /// `serde_json` reads it, each kind of value kept (JWT-05).
    #[test]
    fn jwt05_strict_json_reads_duplicate_free_documents_exactly_as_serde_json() {
        for document in [
            r#"{"t":true,"f":false,"n":null,"u":18446744073709551615,"i":-42,"x":-1.5e300,"s":"plain"}"#,
            r#"{"escaped":"a\"b\\c\u00e9\n","nested":{"a":[1,-2,3.25,"x",[],{}]}}"#,
            r#"[true,null,0,-0,0.5,"\ud83d\ude00"]"#,
            "-7",
            r#""alone""#,
        ] {
            let expected: Value = serde_json::from_str(document).unwrap();
            assert_eq!(parse_strict_json(document.as_bytes()).unwrap(), expected, "{document}");
        }
    }
}
