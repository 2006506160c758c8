//! `Pos<T>`: a value read from a definition file together with where it was written.
//!
//! It wraps `marked_yaml::Spanned` so that the validator can point at `FILE:LINE:COL`, and adds
//! the `JsonSchema` impl (delegated to `T`) that the foreign type cannot have.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use marked_yaml::{Span, Spanned};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A line and column (both 1-based) in a definition file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Pos<T>(Spanned<T>);

impl<T> Pos<T> {
    /// A value made in code rather than read from a file (tests, generated definitions).
    pub fn new(value: T) -> Self {
        Pos(Spanned::new(Span::new_blank(), value))
    }

    pub fn location(&self) -> Location {
        self.0
            .span()
            .start()
            .map(|m| Location {
                line: m.line(),
                column: m.column(),
            })
            .unwrap_or_default()
    }

    pub fn get(&self) -> &T {
        &self.0
    }
}

impl Pos<String> {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<T> Deref for Pos<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Pos<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Pos<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Pos<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: JsonSchema> JsonSchema for Pos<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<T: Default> Default for Pos<T> {
    fn default() -> Self {
        Pos::new(T::default())
    }
}
