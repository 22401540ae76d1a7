//! A statement's bind values, one type for both databases: [`Arg`] (a BIGINT, TEXT, BOOLEAN or
//! bytes value, each as the driver's own Rust type binds it) and [`Args`], the list the [`args!`]
//! macro builds. `From` impls are the extension point: a type that converts into an [`Arg`] can be
//! passed to `args!` as it is.

use std::borrow::Cow;

use sqlx::{Arguments, Encode, Type};

/// One bind value. Each variant binds as its Rust type does with `.bind(…)` (so PostgreSQL is told
/// the same parameter types: BIGINT, TEXT, BOOLEAN, BYTEA).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    /// A BIGINT, or NULL.
    Int(Option<i64>),
    /// TEXT, or NULL (borrowed when the caller's string outlives the statement).
    Text(Option<Cow<'a, str>>),
    /// A BOOLEAN.
    Bool(bool),
    /// Bytes: a BLOB on SQLite, BYTEA on PostgreSQL.
    Bytes(Vec<u8>),
}

/// A statement's bind values, `$1` first: usually built by [`args!`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args<'a>(Vec<Arg<'a>>);

impl<'a> Args<'a> {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many values there are (the last one is `$len`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the next `$n`'s value.
    pub fn push(&mut self, arg: impl Into<Arg<'a>>) {
        self.0.push(arg.into());
    }

    /// The driver's arguments for these values (`sqlx::sqlite::SqliteArguments` or
    /// `sqlx::postgres::PgArguments`), each added as its Rust type.
    pub(super) fn bind<A>(self) -> Result<A, sqlx::Error>
    where
        A: Arguments<'a>,
        i64: Encode<'a, A::Database> + Type<A::Database>,
        Option<i64>: Encode<'a, A::Database> + Type<A::Database>,
        Cow<'a, str>: Encode<'a, A::Database> + Type<A::Database>,
        Option<Cow<'a, str>>: Encode<'a, A::Database> + Type<A::Database>,
        bool: Encode<'a, A::Database> + Type<A::Database>,
        Vec<u8>: Encode<'a, A::Database> + Type<A::Database>,
    {
        let mut out = A::default();
        out.reserve(self.0.len(), 0);
        for (i, arg) in self.0.into_iter().enumerate() {
            match arg {
                Arg::Int(Some(v)) => out.add(v),
                Arg::Int(None) => out.add(None::<i64>),
                Arg::Text(Some(v)) => out.add(v),
                Arg::Text(None) => out.add(None::<Cow<'a, str>>),
                Arg::Bool(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
            }
            // As `Query::bind` words it.
            .map_err(|e| {
                sqlx::Error::Encode(format!("Encoding argument ${} failed: {e}", i + 1).into())
            })?;
        }
        Ok(out)
    }
}

impl<'a> From<Vec<Arg<'a>>> for Args<'a> {
    fn from(args: Vec<Arg<'a>>) -> Self {
        Self(args)
    }
}

/// The bind values of a statement, `$1` first: `args![id, name, now]` (each converted with
/// `Into<Arg>`); `args![]` for none.
#[macro_export]
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        $crate::store::Args::from(::std::vec![
            $(::std::convert::Into::<$crate::store::Arg<'_>>::into($arg)),*
        ])
    };
}

pub use crate::args;

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Self::Text(Some(Cow::Owned(v)))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Self::Text(v.map(Cow::Owned))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::Text(v.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Self::Text(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_to_their_column_types() {
        let name = String::from("Acme");
        let none: Option<String> = None;
        let args = args![
            7,
            None::<i64>,
            "a",
            &name,
            Some("b"),
            &none,
            true,
            vec![0u8]
        ];
        assert_eq!(
            args.0,
            [
                Arg::Int(Some(7)),
                Arg::Int(None),
                Arg::Text(Some("a".into())),
                Arg::Text(Some("Acme".into())),
                Arg::Text(Some("b".into())),
                Arg::Text(None),
                Arg::Bool(true),
                Arg::Bytes(vec![0]),
            ]
        );
        let mut built = Args::new();
        built.push(7);
        assert_eq!(built, args![7]);
    }
}

/// The typed ids bind as the BIGINT they are.
macro_rules! id_args {
    ($($id:ty),*) => {$(
        impl From<$id> for Arg<'_> {
            fn from(id: $id) -> Self {
                Self::Int(Some(id.0))
            }
        }

        impl From<Option<$id>> for Arg<'_> {
            fn from(id: Option<$id>) -> Self {
                Self::Int(id.map(|id| id.0))
            }
        }
    )*};
}

id_args!(
    crate::ids::ConnectionId,
    crate::ids::JobId,
    crate::ids::OrganizationId,
    crate::ids::UserId,
    crate::ids::HostKeyId
);
