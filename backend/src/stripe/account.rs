//! Stripe's Account object (`GET /v1/account`): the account's display name, and the simplest proof
//! that a credential works.

use serde::Deserialize;

/// The fields of Stripe's Account object we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// `acct_…`.
    pub id: String,
    /// Business profile (name, url).
    #[serde(default)]
    pub business_profile: Option<BusinessProfile>,
    /// Settings (dashboard display name).
    #[serde(default)]
    pub settings: Option<Settings>,
    /// The account's email.
    #[serde(default)]
    pub email: Option<String>,
}

/// `business_profile`.
#[derive(Debug, Clone, Deserialize)]
pub struct BusinessProfile {
    /// Public business name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `settings`.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `settings.dashboard`.
    #[serde(default)]
    pub dashboard: Option<Dashboard>,
}

/// `settings.dashboard`.
#[derive(Debug, Clone, Deserialize)]
pub struct Dashboard {
    /// The name shown in Stripe's dashboard.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Longest name we store; Stripe's own limits are shorter.
const MAX_NAME_CHARS: usize = 200;

impl Account {
    /// The name an admin recognises: dashboard display name, else business name, else email,
    /// else the account id. Control characters are dropped and the length is capped.
    pub fn display_name(&self) -> String {
        let candidates = [
            self.settings
                .as_ref()
                .and_then(|s| s.dashboard.as_ref())
                .and_then(|d| d.display_name.clone()),
            self.business_profile.as_ref().and_then(|b| b.name.clone()),
            self.email.clone(),
        ];
        candidates
            .into_iter()
            .flatten()
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_NAME_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| self.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: &str) -> Account {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn display_name_prefers_the_dashboard_name() {
        let a = account(
            r#"{"id":"acct_1","object":"account","email":"a@b.c",
                "business_profile":{"name":"Biz"},"settings":{"dashboard":{"display_name":"Dash"}}}"#,
        );
        assert_eq!(a.display_name(), "Dash");
        let a = account(
            r#"{"id":"acct_1","business_profile":{"name":" Biz\u0007 "},"settings":{"dashboard":{"display_name":""}}}"#,
        );
        assert_eq!(a.display_name(), "Biz");
        let a = account(r#"{"id":"acct_1","business_profile":null,"email":null}"#);
        assert_eq!(a.display_name(), "acct_1");
    }

    #[test]
    fn long_names_are_capped() {
        let a = account(&format!(
            r#"{{"id":"acct_1","email":"{}"}}"#,
            "x".repeat(500)
        ));
        assert_eq!(a.display_name().chars().count(), MAX_NAME_CHARS);
    }
}
