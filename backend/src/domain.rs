//! Domain values parsed once at the boundary ("parse, don't validate").

use std::fmt;

use shared::AuthKind;

use crate::config::Secret;

/// What a connection authenticates to Stripe with, whichever way it was made: one model for the
/// three flows. Every secret in it is encrypted at rest and never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Which flow issued it.
    pub kind: AuthKind,
    /// The access token (Connect, Apps) or the restricted key, used as the API key.
    pub secret: Secret,
    /// The refresh token (Apps rotate it on every use).
    pub refresh_token: Option<Secret>,
    /// When the access token stops working (Unix seconds); `None` = until revoked.
    pub expires_at: Option<i64>,
}

impl Credential {
    /// Whether it should be renewed before use at `now` (less than `margin` seconds left).
    pub fn expires_within(&self, now: i64, margin: i64) -> bool {
        self.refresh_token.is_some() && self.expires_at.is_some_and(|at| at - now < margin)
    }
}

/// A Stripe account id (`acct_` followed by 1–64 ASCII letters and digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StripeAccountId(String);

impl StripeAccountId {
    /// Parses an account id as Stripe issues them.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let rest = raw.strip_prefix("acct_").ok_or("must start with acct_")?;
        if rest.is_empty() || rest.len() > 64 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("must be acct_ followed by 1 to 64 letters or digits");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StripeAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authorization code from the callback (`ac_…`), checked for shape before it is sent anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCode(String);

impl AuthorizationCode {
    /// Parses a code: `ac_` then 1–255 URL-safe characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let rest = raw.strip_prefix("ac_").ok_or("must start with ac_")?;
        if rest.is_empty()
            || rest.len() > 255
            || !rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("malformed authorization code");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The code, for the one call that sends it to Stripe.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationCode(***)")
    }
}

/// Who did what an audit line records. Stored and shown in its wire form ([`AuditActor::wire`],
/// read back by [`AuditActor::parse`]): a user's email, `widget:` and a host's end user's email,
/// `system` or `Stripe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// A user of the app, by email.
    User(String),
    /// A host product's end user, through the widget, by the email its connect session named.
    WidgetUser(String),
    /// The product's background work (tests, renewals, reconciliation).
    System,
    /// Stripe itself (its webhooks).
    Stripe,
}

const SYSTEM: &str = "system";
const STRIPE: &str = "Stripe";
const WIDGET_PREFIX: &str = "widget:";

impl AuditActor {
    /// The wire (and stored) form.
    pub fn wire(&self) -> String {
        match self {
            Self::User(email) => email.clone(),
            Self::WidgetUser(email) => format!("{WIDGET_PREFIX}{email}"),
            Self::System => SYSTEM.to_owned(),
            Self::Stripe => STRIPE.to_owned(),
        }
    }

    /// The actor a wire form names (anything else is a user's email).
    pub fn parse(wire: &str) -> Self {
        match wire {
            SYSTEM => Self::System,
            STRIPE => Self::Stripe,
            _ => match wire.strip_prefix(WIDGET_PREFIX) {
                Some(email) => Self::WidgetUser(email.to_owned()),
                None => Self::User(wire.to_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refreshable_credentials_expire() {
        let mut c = Credential {
            kind: AuthKind::Apps,
            secret: Secret::new("sk_test_x"),
            refresh_token: Some(Secret::new("rt_x")),
            expires_at: Some(1_000),
        };
        assert!(!c.expires_within(400, 300));
        assert!(c.expires_within(701, 300));
        assert!(!format!("{c:?}").contains("sk_test_x"));
        c.refresh_token = None;
        assert!(!c.expires_within(2_000, 300));
    }

    #[test]
    fn account_ids() {
        assert!(StripeAccountId::parse("acct_1Nv0FGQ9RKHgCVdK").is_ok());
        for bad in [
            "",
            "acct_",
            "acct_a-b",
            "cus_123",
            "acct_ 1",
            &format!("acct_{}", "a".repeat(65)),
        ] {
            assert!(StripeAccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authorization_codes() {
        assert!(AuthorizationCode::parse("ac_Abc_123-x").is_ok());
        for bad in [
            "",
            "ac_",
            "sk_live_1",
            "ac_a b",
            "ac_<x>",
            &format!("ac_{}", "a".repeat(256)),
        ] {
            assert!(AuthorizationCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            !format!("{:?}", AuthorizationCode::parse("ac_secret").unwrap()).contains("secret")
        );
    }

    #[test]
    fn an_audit_actor_reads_back_as_it_was_written() {
        for actor in [
            AuditActor::User("ada@example.com".into()),
            AuditActor::WidgetUser("bob@host.example".into()),
            AuditActor::System,
            AuditActor::Stripe,
        ] {
            assert_eq!(AuditActor::parse(&actor.wire()), actor);
        }
        assert_eq!(AuditActor::System.wire(), "system");
        assert_eq!(AuditActor::Stripe.wire(), "Stripe");
        assert_eq!(
            AuditActor::WidgetUser("b@h.example".into()).wire(),
            "widget:b@h.example"
        );
    }
}
