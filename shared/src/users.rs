//! Users and roles.

use serde::{Deserialize, Serialize};

/// What a user may do. Integrations and user management are Admin-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including Connections and Users.
    Admin,
    /// Reports, no administration.
    Standard,
    /// Read reports only.
    ReadOnly,
}

wire_names!(Role {
    Admin => "admin",
    Standard => "standard",
    ReadOnly => "read_only",
});

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Self; 3] = [Self::Admin, Self::Standard, Self::ReadOnly];

    /// Parses the wire name, or the command-line spelling (`read-only`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Italian.
    It,
}

wire_names!(Locale {
    En => "en",
    It => "it",
});

impl Locale {
    /// Every language, English first (the fallback).
    pub const ALL: [Self; 2] = [Self::En, Self::It];

    /// The first of BCP 47 tags (`navigator.languages`, a `locale` attribute) this UI speaks, by
    /// primary language (`it-CH` → Italian); English when none is.
    pub fn negotiate<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        tags.into_iter().find_map(Self::of_tag).unwrap_or(Self::En)
    }

    /// The language of one BCP 47 tag, by its primary subtag, if the UI speaks it.
    pub fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }
}

/// Body of `PUT /api/auth/me/locale`: the language the user picked, or `null` (or no `locale`: the
/// choice is replaced whole) to follow the browser again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocaleChoice {
    /// The language, or none.
    pub locale: Option<Locale>,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Id.
    pub id: i64,
    /// Sign-in email (unique, case-insensitive).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// When the user was created (Unix seconds).
    pub created_at: i64,
    /// Last successful sign-in (Unix seconds).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_sign_in_at: Option<i64>,
    /// The language the user picked in the user menu; `None` → the browser's.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub locale: Option<Locale>,
}

/// Body of `POST /api/auth/sign-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Body of `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A password the admin sets; `None` generates a one-time password.
    #[serde(default)]
    pub password: Option<String>,
}

/// Answer of `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserResponse {
    /// The new user.
    pub user: User,
    /// The generated password, shown once, when none was given.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub one_time_password: Option<String>,
}

/// Body of `PATCH /api/users/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUserRequest {
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable or re-enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_language_the_ui_speaks_wins_by_primary_subtag() {
        assert_eq!(Locale::negotiate(["it-IT", "en-US"]), Locale::It);
        assert_eq!(Locale::negotiate(["de-CH", "IT_ch", "en"]), Locale::It);
        assert_eq!(Locale::negotiate(["en-GB", "it"]), Locale::En);
        assert_eq!(Locale::negotiate(["fr", "de"]), Locale::En, "fallback");
        assert_eq!(Locale::negotiate([]), Locale::En);
        assert_eq!(
            Locale::negotiate(["i", "itx"]),
            Locale::En,
            "whole subtags only"
        );
    }
}
