//! Classic Connect OAuth with the `oauth2` crate: the authorize URL (`scope=read_only`), the code
//! exchange at `{STRIPE_CONNECT_URL}/oauth/token`, and deauthorization. Access tokens do not expire.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, RedirectUrl, Scope, StandardRevocableToken, TokenUrl,
};
use serde::Deserialize;
use shared::AuthKind;
use url::Url;

use super::{grant_from, token_error, AuthFlow, Grant, Revocation, Start, StripeTokenResponse};
use crate::config::{join_path, Secret};
use crate::domain::{Credential, StripeAccountId};
use crate::stripe::StripeError;

type ConnectOAuthClient = Client<
    BasicErrorResponse,
    StripeTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The scope an analytics product asks for.
pub const SCOPE: &str = "read_only";

/// The OAuth client could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid OAuth endpoint: {0}")]
pub struct OAuthConfigError(pub String);

/// Classic Connect OAuth.
#[derive(Debug, Clone)]
pub struct ConnectFlow {
    client: ConnectOAuthClient,
    client_id: String,
    secret_key: Secret,
    connect_url: Url,
}

impl ConnectFlow {
    /// Builds the client once at start-up. `browser_connect_url` is where the browser reaches the
    /// authorize page; `connect_url` where this server reaches the token and deauthorize endpoints.
    pub fn new(
        client_id: &str,
        secret_key: &Secret,
        browser_connect_url: &Url,
        connect_url: &Url,
        redirect_uri: &Url,
    ) -> Result<Self, OAuthConfigError> {
        let bad = |e: url::ParseError| OAuthConfigError(e.to_string());
        let client = Client::new(ClientId::new(client_id.to_owned()))
            .set_client_secret(ClientSecret::new(secret_key.expose().to_owned()))
            .set_auth_uri(
                AuthUrl::new(join_path(browser_connect_url, "/oauth/authorize").into())
                    .map_err(bad)?,
            )
            .set_token_uri(
                TokenUrl::new(join_path(connect_url, "/oauth/token").into()).map_err(bad)?,
            )
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(bad)?)
            // Stripe's documented body form: client_secret=sk_… in the form body.
            .set_auth_type(AuthType::RequestBody);
        Ok(Self {
            client,
            client_id: client_id.to_owned(),
            secret_key: secret_key.clone(),
            connect_url: connect_url.clone(),
        })
    }

    /// Exchanges an authorization code for tokens. Called at most once per code.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        http: &oauth2::reqwest::Client,
        code: &str,
    ) -> Result<Grant, StripeError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        grant_from(&response, AuthKind::Connect, &[SCOPE, "read_write"], None)
    }
}

impl AuthFlow for ConnectFlow {
    fn kind(&self) -> AuthKind {
        AuthKind::Connect
    }

    fn start(&self, state: &str) -> Start {
        let state = state.to_owned();
        let (mut url, _) = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(SCOPE.into()))
            .add_extra_param("stripe_landing", "login")
            .url();
        url.set_fragment(None);
        Start::Redirect(url)
    }

    /// Connect access tokens do not expire: nothing to renew.
    async fn refresh(
        &self,
        _http: &oauth2::reqwest::Client,
        credential: &Credential,
        _now: i64,
    ) -> Result<Credential, StripeError> {
        Ok(credential.clone())
    }

    /// `POST /oauth/deauthorize`.
    #[tracing::instrument(skip(self, http))]
    async fn revoke(
        &self,
        http: &oauth2::reqwest::Client,
        account: &StripeAccountId,
    ) -> Result<Revocation, StripeError> {
        let response = http
            .post(join_path(&self.connect_url, "/oauth/deauthorize"))
            .basic_auth(self.secret_key.expose(), Some(""))
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("stripe_user_id", account.as_str()),
            ])
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status.is_success() {
            return Ok(Revocation::Revoked);
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(e) => Err(StripeError::Refused {
                code: e.error,
                description: e.error_description.unwrap_or_default(),
            }),
            Err(_) => Err(StripeError::Malformed(format!(
                "deauthorize answered {status}"
            ))),
        }
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Grant, StripeError> {
        let response: StripeTokenResponse =
            serde_json::from_str(json).map_err(|e| StripeError::Malformed(e.to_string()))?;
        grant_from(&response, AuthKind::Connect, &[SCOPE, "read_write"], None)
    }

    #[test]
    fn parses_stripes_documented_token_response() {
        let g = parse(
            r#"{"access_token":"sk_test_abc","scope":"read_only","livemode":false,
                "token_type":"bearer","refresh_token":"rt_1","stripe_user_id":"acct_1Abc",
                "stripe_publishable_key":"pk_test_1"}"#,
        )
        .unwrap();
        assert_eq!(g.account.as_str(), "acct_1Abc");
        assert_eq!(g.credential.secret.expose(), "sk_test_abc");
        assert_eq!(
            g.credential.refresh_token.as_ref().map(Secret::expose),
            Some("rt_1")
        );
        assert_eq!(g.credential.expires_at, None);
        assert_eq!(g.scope, "read_only");
        assert!(!g.livemode);
        assert_eq!(g.publishable_key.as_deref(), Some("pk_test_1"));
        assert!(!format!("{g:?}").contains("sk_test_abc"));
    }

    #[test]
    fn rejects_answers_we_cannot_trust() {
        let base = |patch: &str| {
            format!(
                r#"{{"access_token":"sk_test_abc","scope":"read_only","livemode":false,
                    "token_type":"bearer","stripe_user_id":"acct_1"{patch}}}"#
            )
        };
        assert!(parse(&base("")).is_ok());
        assert!(parse(r#"{"access_token":"x","token_type":"bearer","livemode":false}"#).is_err());
        assert!(parse(&base(r#","stripe_user_id":"evil/../x""#)).is_err());
        assert!(parse(&base(r#","token_type":"mac""#)).is_err());
        assert!(parse(&base(r#","access_token":"  ""#)).is_err());
        assert!(parse(&base(r#","scope":"read_write admin""#)).is_err());
        assert!(parse(&base(r#","livemode":"yes""#)).is_err());
    }

    #[test]
    fn authorize_url_carries_the_documented_parameters() {
        let stripe = Url::parse("https://connect.stripe.com").unwrap();
        let flow = ConnectFlow::new(
            "ca_123",
            &Secret::new("sk_test_secret"),
            &stripe,
            &stripe,
            &Url::parse("https://bi.example/oauth/stripe/callback").unwrap(),
        )
        .unwrap();
        let Start::Redirect(url) = flow.start("st4te") else {
            panic!("connect redirects")
        };
        assert_eq!(url.path(), "/oauth/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "ca_123");
        assert_eq!(q["scope"], "read_only");
        assert_eq!(q["state"], "st4te");
        assert_eq!(
            q["redirect_uri"],
            "https://bi.example/oauth/stripe/callback"
        );
        assert!(!url.as_str().contains("sk_test_secret"));
    }
}
