//! Wire names of the code enums (`"needs_reauth"`, `"restricted_key"`, …), written once per enum.
//!
//! Serde's derived `Deserialize` for a unit enum is a visitor of its own per enum (~1 KB of wasm
//! apiece in the front end, which has a size budget); these impls read a string and look it up
//! through one shared function instead, and `from_wire` reads a code from plain text (a database
//! column, a `<select>`'s value). The JSON is the same as with
//! `#[derive(Serialize, Deserialize)] #[serde(rename_all = "snake_case")]`.

/// Position of `name` among an enum's wire names.
pub(crate) fn index(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// `as_str`, `from_wire`, `Serialize`, `Deserialize` (and, with `openapi`, the JSON schema) for a unit enum from its variants' wire
/// names. `other Variant` makes unknown names read as that variant (like `#[serde(other)]`);
/// without it an unknown name is refused with serde's own "unknown variant" error.
macro_rules! wire_names {
    // Whether the enum has a catch-all variant.
    (@open) => { false };
    (@open $other:ident) => { true };
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? } $(other $other:ident)?) => {
        impl $ty {
            const NAMES: &'static [&'static str] = &[$($name),+];
            const VARIANTS: &'static [Self] = &[$(Self::$variant),+];

            /// Stable wire and database name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// Inverse of `as_str` (an unknown name gives the catch-all variant, if there is one).
            pub fn from_wire(name: &str) -> Option<Self> {
                let other: Option<Self> = None $(.or(Some(Self::$other)))?;
                crate::wire::index(Self::NAMES, name)
                    .map(|i| Self::VARIANTS[i])
                    .or(other)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        /// Its JSON schema: a string, one of the wire names; with a catch-all variant, any
        /// string (a newer server may send a code this one does not know), the names as examples.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                let open = wire_names!(@open $($other)?);
                let names = Self::NAMES.iter().copied();
                let string = ObjectBuilder::new().schema_type(Type::String);
                if open {
                    string
                        .description(Some(
                            "One of the examples; clients should also accept codes they do not \
                             know (a newer server's), as this one does.",
                        ))
                        .examples(names)
                        .into()
                } else {
                    string.enum_values(Some(names)).into()
                }
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::from_wire(&name).ok_or_else(|| {
                    <D::Error as serde::de::Error>::unknown_variant(&name, Self::NAMES)
                })
            }
        }
    };
}
