//! Hand-written deserializers for the few places where one key takes two shapes.
//!
//! `shell: "cmd"` or `shell: { run: .. }`; `batch: 2`, `"25%"` or `[1, 2, 4]`. Serde's
//! `untagged` would do it but throws away the real error ("data did not match any variant"),
//! so each shape is a small visitor that says what it expected, and a JSON Schema that says
//! the same to editors.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A long-form struct that can also be written as one string (its main field).
pub trait ShortForm: Sized {
    /// What the string means, for error messages ("a command", "a URL").
    const SHORT_MEANING: &'static str;
    /// Builds the long form from the short one.
    fn from_short(text: String) -> Self;
}

/// Either the short string or the long mapping of `T`; always holds the long form.
#[derive(Debug, Clone)]
pub struct Short<T>(pub T);

impl<'de, T: ShortForm + Deserialize<'de>> Deserialize<'de> for Short<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShortVisitor<T>(PhantomData<T>);

        impl<'de, T: ShortForm + Deserialize<'de>> Visitor<'de> for ShortVisitor<T> {
            type Value = Short<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{} (a string) or a mapping", T::SHORT_MEANING)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Short(T::from_short(v.to_owned())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Short)
            }
        }

        deserializer.deserialize_any(ShortVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Short<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}OrString", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let long = generator.subschema_for::<T>();
        json_schema!({ "anyOf": [ { "type": "string" }, long ] })
    }
}

/// How many services a rolling restart takes at a time, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchSpec {
    /// `batch: 2`
    Count(i64),
    /// `batch: "25%"` (the text, validated later so the error points at it).
    Percent(String),
    /// `batch: [1, 2, 4]`: a ramp; the last size repeats.
    Ramp(Vec<i64>),
}

impl<'de> Deserialize<'de> for BatchSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BatchVisitor;

        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = BatchSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a batch size: a number, a percentage like \"25%\", or a list of sizes")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BatchSpec, E> {
                Ok(BatchSpec::Count(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BatchSpec, E> {
                Ok(BatchSpec::Count(i64::try_from(v).unwrap_or(i64::MAX)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<BatchSpec, E> {
                Ok(BatchSpec::Percent(v.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BatchSpec, A::Error> {
                let mut sizes = Vec::new();
                while let Some(size) = seq.next_element::<i64>()? {
                    sizes.push(size);
                }
                Ok(BatchSpec::Ramp(sizes))
            }
        }

        deserializer.deserialize_any(BatchVisitor)
    }
}

impl JsonSchema for BatchSpec {
    fn schema_name() -> Cow<'static, str> {
        "BatchSpec".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "services per batch: a number, a percentage (\"25%\") or a ramp ([1, 2, 4])",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^[0-9]{1,3}%$" },
                { "type": "array", "items": { "type": "integer", "minimum": 1 }, "minItems": 1 }
            ]
        })
    }
}
