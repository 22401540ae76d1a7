//! Stripe Apps OAuth 2.0: the install link used exactly as configured (`STRIPE_AUTHORIZE_URL`,
//! including the External-test form `…/oauth/v2/chnlink_…/authorize`), the exchange and refresh at
//! `{STRIPE_API_URL}/v1/oauth/token` with HTTP Basic `sk_…:`, one-hour access tokens (Stripe sends
//! no `expires_in`) and refresh tokens that rotate on every use.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthorizationCode, Client, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    RefreshToken, StandardRevocableToken, TokenResponse, TokenUrl,
};
use shared::AuthKind;
use url::Url;

use super::connect::OAuthConfigError;
use super::{grant_from, token_error, AuthFlow, Grant, Revocation, Start, StripeTokenResponse};
use crate::config::{join_path, Secret};
use crate::domain::{Credential, StripeAccountId};
use crate::stripe::StripeError;

/// What Stripe Apps grants.
pub const SCOPE: &str = "stripe_apps";

/// Lifetime of an Apps access token when the answer does not say (Stripe never does).
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 60 * 60;

type AppsTokenClient = Client<
    BasicErrorResponse,
    StripeTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Stripe Apps OAuth.
#[derive(Debug, Clone)]
pub struct AppsFlow {
    client_id: String,
    authorize_url: Url,
    redirect_uri: Url,
    token: AppsTokenClient,
}

impl AppsFlow {
    /// Builds the flow once at start-up. The token client authenticates as Stripe documents it:
    /// HTTP Basic with the secret key as user name and an empty password.
    pub fn new(
        client_id: &str,
        secret_key: &Secret,
        authorize_url: &Url,
        api_url: &Url,
        redirect_uri: &Url,
    ) -> Result<Self, OAuthConfigError> {
        let token_url = TokenUrl::new(join_path(api_url, "/v1/oauth/token").into())
            .map_err(|e| OAuthConfigError(e.to_string()))?;
        let token = Client::new(ClientId::new(secret_key.expose().to_owned()))
            .set_client_secret(ClientSecret::new(String::new()))
            .set_token_uri(token_url)
            .set_auth_type(AuthType::BasicAuth);
        Ok(Self {
            client_id: client_id.to_owned(),
            authorize_url: authorize_url.clone(),
            redirect_uri: redirect_uri.clone(),
            token,
        })
    }

    fn expiry(response: &StripeTokenResponse, now: i64) -> i64 {
        let lifetime = response
            .expires_in()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .unwrap_or(ACCESS_TOKEN_LIFETIME_SECS);
        now.saturating_add(lifetime)
    }

    /// Exchanges an install's authorization code. Called at most once per code.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        http: &oauth2::reqwest::Client,
        code: &str,
        now: i64,
    ) -> Result<Grant, StripeError> {
        let response = self
            .token
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        let grant = grant_from(
            &response,
            AuthKind::Apps,
            &[SCOPE],
            Some(Self::expiry(&response, now)),
        )?;
        if grant.credential.refresh_token.is_none() {
            return Err(StripeError::Malformed("no refresh_token".into()));
        }
        Ok(grant)
    }
}

impl AuthFlow for AppsFlow {
    fn kind(&self) -> AuthKind {
        AuthKind::Apps
    }

    /// The install link exactly as configured, with `client_id`, `redirect_uri` and `state` set
    /// (replacing any the configured link already carries, so none appears twice).
    fn start(&self, state: &str) -> Start {
        const OURS: [&str; 3] = ["client_id", "redirect_uri", "state"];
        let mut url = self.authorize_url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !OURS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in &kept {
                query.append_pair(k, v);
            }
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("state", state);
        }
        Start::Redirect(url)
    }

    /// `grant_type=refresh_token`: a new access token and a new refresh token (the old one dies).
    #[tracing::instrument(skip_all)]
    async fn refresh(
        &self,
        http: &oauth2::reqwest::Client,
        credential: &Credential,
        now: i64,
    ) -> Result<Credential, StripeError> {
        let refresh = credential
            .refresh_token
            .as_ref()
            .ok_or_else(|| StripeError::Malformed("no refresh token stored".into()))?;
        let token = RefreshToken::new(refresh.expose().to_owned());
        let response = self
            .token
            .exchange_refresh_token(&token)
            .request_async(http)
            .await
            .map_err(token_error)?;
        let grant = grant_from(
            &response,
            AuthKind::Apps,
            &[SCOPE],
            Some(Self::expiry(&response, now)),
        )?;
        Ok(Credential {
            // Rotation is Stripe's rule; should an answer carry none, the old one is all we have.
            refresh_token: grant
                .credential
                .refresh_token
                .or_else(|| credential.refresh_token.clone()),
            ..grant.credential
        })
    }

    /// Stripe Apps has no revocation endpoint: the account owner uninstalls the app in Stripe.
    async fn revoke(
        &self,
        _http: &oauth2::reqwest::Client,
        _account: &StripeAccountId,
    ) -> Result<Revocation, StripeError> {
        Ok(Revocation::NotAvailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(authorize: &str) -> AppsFlow {
        AppsFlow::new(
            "ca_app",
            &Secret::new("sk_test_owner"),
            &Url::parse(authorize).unwrap(),
            &Url::parse("https://api.stripe.com").unwrap(),
            &Url::parse("https://bi.example/oauth/stripe/callback").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_install_link_is_used_exactly_as_configured() {
        let link = "https://marketplace.stripe.com/oauth/v2/chnlink_61Abc/authorize";
        let Start::Redirect(url) = flow(link).start("st4te") else {
            panic!("apps redirects")
        };
        assert_eq!(url.path(), "/oauth/v2/chnlink_61Abc/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "ca_app");
        assert_eq!(q["state"], "st4te");
        assert_eq!(
            q["redirect_uri"],
            "https://bi.example/oauth/stripe/callback"
        );
        assert!(
            !q.contains_key("scope"),
            "the manifest decides the permissions"
        );
        assert!(!url.as_str().contains("sk_test_owner"));
    }

    #[test]
    fn a_link_with_its_own_query_gets_each_parameter_once() {
        let Start::Redirect(url) =
            flow("https://m.example/oauth/v2/authorize?client_id=ca_old&redirect_uri=x&lang=it")
                .start("s")
        else {
            panic!("apps redirects")
        };
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.iter().filter(|(k, _)| k == "client_id").count(), 1);
        assert_eq!(pairs.iter().filter(|(k, _)| k == "redirect_uri").count(), 1);
        assert!(pairs.contains(&("client_id".into(), "ca_app".into())));
        assert!(
            pairs.contains(&("lang".into(), "it".into())),
            "the rest is kept"
        );
    }

    #[test]
    fn answers_without_expires_in_live_one_hour_and_need_the_apps_scope() {
        let answer: StripeTokenResponse = serde_json::from_str(
            r#"{"access_token":"sk_test_a","refresh_token":"rt_a","token_type":"bearer",
                "scope":"stripe_apps","livemode":false,"stripe_user_id":"acct_1A"}"#,
        )
        .unwrap();
        assert_eq!(AppsFlow::expiry(&answer, 100), 100 + 3600);
        let g = grant_from(&answer, AuthKind::Apps, &[SCOPE], Some(3700)).unwrap();
        assert_eq!(g.credential.kind, AuthKind::Apps);
        let connect_answer: StripeTokenResponse = serde_json::from_str(
            r#"{"access_token":"sk_test_a","token_type":"bearer","scope":"read_only",
                "livemode":false,"stripe_user_id":"acct_1A"}"#,
        )
        .unwrap();
        assert!(grant_from(&connect_answer, AuthKind::Apps, &[SCOPE], None).is_err());
    }
}
