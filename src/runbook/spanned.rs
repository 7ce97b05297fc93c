//! A value together with where it was written, so validation can point at it.
//!
//! Wraps serde-saphyr's `Spanned` so that the raw types can also derive a JSON Schema: the
//! schema of `Spanned<T>` is the schema of `T`, since the span is ours, not the author's.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

use super::diagnostic::Pos;

/// A value as written plus its position (and byte offset, to locate text inside it).
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written (for an alias: where the alias was used).
    pub pos: Pos,
    /// Byte offset of the value in the source, when the parser knows it.
    pub offset: Option<usize>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(Spanned {
            value: spanned.value,
            pos: Pos {
                line: clamp(at.line()),
                col: clamp(at.column()),
            },
            offset: at.span().byte_offset().and_then(|o| usize::try_from(o).ok()),
        })
    }
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }
}
