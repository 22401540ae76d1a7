//! Wire names of the code enums (`"needs_reauth"`, `"restricted_key"`, …), written once per enum.
//!
//! Serde's derived `Deserialize` for a unit enum is a visitor of its own per enum (~1 KB of wasm
//! apiece in the front end, which has a size budget); these impls read a string and look it up
//! through one shared function instead. The JSON is the same as with
//! `#[derive(Serialize, Deserialize)] #[serde(rename_all = "snake_case")]`.

use serde::de::{Deserialize, Deserializer, Error};

/// Index of the wire name `deserializer` holds in `names`; `other` is the index to use for an
/// unknown name (like `#[serde(other)]`), or `None` to refuse it as serde's derive does.
pub(crate) fn variant_index<'de, D: Deserializer<'de>>(
    deserializer: D,
    names: &'static [&'static str],
    other: Option<usize>,
) -> Result<usize, D::Error> {
    let name = String::deserialize(deserializer)?;
    match names.iter().position(|n| *n == name) {
        Some(i) => Ok(i),
        None => other.ok_or_else(|| D::Error::unknown_variant(&name, names)),
    }
}

/// `as_str`, `Serialize` and `Deserialize` for a unit enum from its variants' wire names.
/// `other Variant` makes unknown names read as that variant.
macro_rules! wire_names {
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
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[allow(unused_mut, unused_assignments)]
                let mut other = None;
                $(other = Self::VARIANTS.iter().position(|v| *v == Self::$other);)?
                crate::wire::variant_index(deserializer, Self::NAMES, other)
                    .map(|i| Self::VARIANTS[i])
            }
        }
    };
}
