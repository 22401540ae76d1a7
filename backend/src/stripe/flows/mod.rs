//! The three ways to connect a Stripe account, behind one interface: classic Connect OAuth, Stripe
//! Apps OAuth 2.0, and restricted API keys. Each starts (a redirect, or a form in our page),
//! completes into a [`Credential`], and says how it is refreshed and revoked; [`Flows`] picks the
//! right one for a connection's kind.

pub mod apps;
pub mod connect;
pub mod restricted_key;

use oauth2::basic::{BasicErrorResponse, BasicTokenType};
use oauth2::{
    ExtraTokenFields, HttpClientError, RequestTokenError, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use shared::AuthKind;
use url::Url;

use super::StripeError;
use crate::config::Secret;
use crate::domain::{Credential, StripeAccountId};

pub use apps::AppsFlow;
pub use connect::ConnectFlow;
pub use restricted_key::{KeyCheck, KeyRefusal};

/// How a flow starts in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Send the browser to Stripe's page.
    Redirect(Url),
    /// Our own page collects the credential (a restricted key).
    Form,
}

/// What revoking a credential at Stripe achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Stripe revoked our access.
    Revoked,
    /// The flow has no revocation endpoint: the account owner finishes in Stripe.
    NotAvailable,
}

/// What every way of connecting offers. `complete` differs in its input (a code, a key), so it is
/// each flow's own method.
#[allow(async_fn_in_trait)]
pub trait AuthFlow {
    /// Which kind of credential it makes.
    fn kind(&self) -> AuthKind;
    /// How the flow starts for a given OAuth `state`.
    fn start(&self, state: &str) -> Start;
    /// A renewed credential, for kinds whose access expires.
    async fn refresh(
        &self,
        http: &oauth2::reqwest::Client,
        credential: &Credential,
        now: i64,
    ) -> Result<Credential, StripeError>;
    /// Ends our access at Stripe, where the flow allows it.
    async fn revoke(
        &self,
        http: &oauth2::reqwest::Client,
        account: &StripeAccountId,
    ) -> Result<Revocation, StripeError>;
}

/// What a completed OAuth authorization gives, checked.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The connected account (from the token answer only, never the redirect).
    pub account: StripeAccountId,
    /// The credential.
    pub credential: Credential,
    /// Granted scope.
    pub scope: String,
    /// Live or test data.
    pub livemode: bool,
    /// The account's publishable key.
    pub publishable_key: Option<String>,
}

/// Stripe's additions to the standard token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StripeTokenFields {
    /// The connected account.
    pub stripe_user_id: String,
    /// The account's publishable key.
    #[serde(default)]
    pub stripe_publishable_key: Option<String>,
    /// Live or test mode.
    pub livemode: bool,
}

impl ExtraTokenFields for StripeTokenFields {}

/// A token answer of either OAuth flow.
pub type StripeTokenResponse = StandardTokenResponse<StripeTokenFields, BasicTokenType>;

/// Maps the `oauth2` crate's failure to ours, never echoing a body that may hold a token.
pub fn token_error(
    e: RequestTokenError<HttpClientError<oauth2::reqwest::Error>, BasicErrorResponse>,
) -> StripeError {
    match e {
        RequestTokenError::ServerResponse(body) => StripeError::Refused {
            code: body.error().as_ref().to_owned(),
            // Stripe quotes the code in its descriptions ("…does not exist: ac_…").
            description: super::redact_secrets(
                body.error_description()
                    .map(String::as_str)
                    .unwrap_or_default(),
            ),
        },
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => (*e).into(),
        RequestTokenError::Request(other) => StripeError::Unreachable(other.to_string()),
        RequestTokenError::Parse(e, _) => {
            StripeError::Malformed(format!("token response did not parse at {}", e.path()))
        }
        RequestTokenError::Other(msg) => StripeError::Malformed(msg),
    }
}

/// Checks a parsed token answer: a bearer token, a well-formed account id, one of the `scopes`
/// the flow grants. Access lives until `expires_at` (`None`: until revoked).
pub fn grant_from(
    response: &StripeTokenResponse,
    kind: AuthKind,
    scopes: &[&str],
    expires_at: Option<i64>,
) -> Result<Grant, StripeError> {
    if *response.token_type() != BasicTokenType::Bearer {
        return Err(StripeError::Malformed("token_type is not bearer".into()));
    }
    let extra = response.extra_fields();
    let account = StripeAccountId::parse(&extra.stripe_user_id)
        .map_err(|e| StripeError::Malformed(format!("stripe_user_id: {e}")))?;
    let access_token = response.access_token().secret().trim().to_owned();
    if access_token.is_empty() {
        return Err(StripeError::Malformed("empty access_token".into()));
    }
    let scope = response
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| scopes.first().copied().unwrap_or_default().to_owned());
    if !scopes.contains(&scope.as_str()) {
        return Err(StripeError::Malformed(format!("unexpected scope {scope}")));
    }
    Ok(Grant {
        account,
        credential: Credential {
            kind,
            secret: Secret::new(access_token),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_at,
        },
        scope,
        livemode: extra.livemode,
        publishable_key: extra.stripe_publishable_key.clone(),
    })
}

/// The flows this server speaks, and the OAuth one **Connect with Stripe** starts.
#[derive(Debug, Clone)]
pub struct Flows {
    /// Classic Connect OAuth (also for connections made before a switch to Apps).
    pub connect: ConnectFlow,
    /// Stripe Apps OAuth.
    pub apps: AppsFlow,
    /// Which OAuth flow new connections use (`STRIPE_OAUTH`).
    pub configured: AuthKind,
}

impl Flows {
    /// The same flows with another OAuth flow configured (the one an old exchange used).
    pub fn with_configured(&self, kind: AuthKind) -> Self {
        Self {
            configured: kind,
            ..self.clone()
        }
    }

    /// The authorize URL of the configured OAuth flow.
    pub fn authorize_url(&self, state: &str) -> Result<Url, StripeError> {
        let start = match self.configured {
            AuthKind::Connect => self.connect.start(state),
            _ => self.apps.start(state),
        };
        match start {
            Start::Redirect(url) => Ok(url),
            Start::Form => Err(StripeError::Malformed("not an OAuth flow".into())),
        }
    }

    /// The origin (`scheme://host[:port]`) of the configured OAuth flow's authorize page: where a
    /// browser sent to [`Self::authorize_url`] lands.
    pub fn authorize_origin(&self) -> Option<String> {
        let url = self.authorize_url("origin").ok()?;
        let origin = url.origin();
        origin.is_tuple().then(|| origin.ascii_serialization())
    }

    /// Exchanges a callback's code at the configured flow's token endpoint (never the other's:
    /// an Apps code at the Connect endpoint "does not belong to you").
    pub async fn exchange_code(
        &self,
        http: &oauth2::reqwest::Client,
        code: &str,
        now: i64,
    ) -> Result<Grant, StripeError> {
        match self.configured {
            AuthKind::Connect => self.connect.exchange_code(http, code).await,
            _ => self.apps.exchange_code(http, code, now).await,
        }
    }

    /// Renews a credential by its own flow.
    pub async fn refresh(
        &self,
        http: &oauth2::reqwest::Client,
        credential: &Credential,
        now: i64,
    ) -> Result<Credential, StripeError> {
        match credential.kind {
            AuthKind::Connect => self.connect.refresh(http, credential, now).await,
            AuthKind::Apps => self.apps.refresh(http, credential, now).await,
            AuthKind::RestrictedKey => {
                restricted_key::RestrictedKeyFlow
                    .refresh(http, credential, now)
                    .await
            }
        }
    }

    /// Revokes access by the connection's own flow.
    pub async fn revoke(
        &self,
        http: &oauth2::reqwest::Client,
        kind: AuthKind,
        account: &StripeAccountId,
    ) -> Result<Revocation, StripeError> {
        match kind {
            AuthKind::Connect => self.connect.revoke(http, account).await,
            AuthKind::Apps => self.apps.revoke(http, account).await,
            AuthKind::RestrictedKey => {
                restricted_key::RestrictedKeyFlow
                    .revoke(http, account)
                    .await
            }
        }
    }
}
