//! JSON read strictly: what RFC 8259 allows, less what its interoperability warnings say
//! readers disagree on. An input that two JSON readers could understand differently is
//! refused, never answered one way.
//!
//! On top of serde_json's own strictness (no trailing text, comments, trailing commas,
//! single quotes, NaN or Infinity, byte order mark, control characters or lone surrogates in
//! strings, invalid UTF-8, numbers out of the f64 range, nesting deeper than 128), this refuses:
//! - an object that names a member twice (RFC 8259 4: readers keep the first, the last, or
//!   fail);
//! - a number beyond ±2^53 (RFC 8259 6: past it, readers that use IEEE doubles, JavaScript's
//!   included, read another integer than readers that use 64-bit or big integers; serde_json
//!   itself turns an integer beyond 2^64 into a double, so the rule holds for floats too; no
//!   model takes numbers anywhere near that large).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Largest integer every IEEE-double reader reads exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses `text` as one strict JSON value; the error is one line.
pub fn from_str(text: &str) -> Result<Value, String> {
    from_slice(text.as_bytes())
}

/// [`from_str`] over bytes (which must be UTF-8).
pub fn from_slice(bytes: &[u8]) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    StrictValue
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| e.to_string())
}

/// Builds a [`Value`], refusing duplicate members and unsafe integers on the way.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        if value.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(too_large_number(value));
        }
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        if value > MAX_SAFE_INTEGER {
            return Err(too_large_number(value));
        }
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        if value.abs() > MAX_SAFE_INTEGER as f64 {
            return Err(too_large_number(format_args!("{value:e}")));
        }
        // serde_json gives only finite floats; anything else is refused all the same.
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the member \"{}\" appears twice in one object; give each member once",
                    key.escape_debug()
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

fn too_large_number<E: de::Error>(value: impl fmt::Display) -> E {
    E::custom(format_args!(
        "the number {value} is beyond ±2^53, where JSON readers disagree on values; no input is that large"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        from_str(text).expect_err(text)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00"], "b": {}}"#,
            "[]",
            "0",
            "-0.0",
            "9007199254740991",
            "-9007199254740991",
            "1.5e-308",
            " \"text\" ",
        ] {
            let strict = from_str(text).unwrap();
            let plain: Value = serde_json::from_str(text).unwrap();
            assert_eq!(strict, plain, "{text}");
        }
    }

    #[test]
    fn refuses_a_member_named_twice_at_any_depth() {
        assert!(refused(r#"{"a": 1, "a": 2}"#).contains("\"a\" appears twice"));
        assert!(refused(r#"[{"x": {"b": 1, "c": 2, "b": 3}}]"#).contains("\"b\" appears twice"));
        // The same name in two different objects is fine.
        assert!(from_str(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn refuses_integers_readers_disagree_on() {
        assert!(refused("9007199254740992").contains("beyond ±2^53"));
        assert!(refused("-9007199254740993").contains("beyond ±2^53"));
        assert!(refused(r#"{"n": 18446744073709551616}"#).contains("beyond ±2^53"));
        assert!(refused("-1.5e300").contains("beyond ±2^53"));
        assert!(from_str("9007199254740991.0").is_ok());
    }

    #[test]
    fn keeps_serde_jsons_own_refusals() {
        for text in [
            "{\"a\": 1,}",
            "[1] 2",
            "NaN",
            "1e400",
            "\u{feff}{}",
            "\"\\ud800\"",
            "{'a': 1}",
            "\"tab\there\"",
            "// c\n1",
            "",
        ] {
            let error = refused(text);
            assert!(!error.contains('\n'), "{error}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(refused(&deep).contains("recursion limit"));
        assert!(from_slice(b"\"\xff\"").is_err());
    }
}
