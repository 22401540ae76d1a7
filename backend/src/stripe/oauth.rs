//! Classic Connect OAuth with the `oauth2` crate: the authorize URL, the code exchange, and
//! deauthorization.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpClientError, RedirectUrl, RequestTokenError,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{StripeEndpoints, StripeError};
use crate::config::join_path;
use crate::domain::StripeAccountId;

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

type StripeTokenResponse = StandardTokenResponse<StripeTokenFields, BasicTokenType>;

type StripeOAuthClient = Client<
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

/// What a successful code exchange gives, checked.
#[derive(Debug, Clone)]
pub struct GrantedAccess {
    /// The connected account.
    pub account: StripeAccountId,
    /// The access token (a secret: never log it).
    pub access_token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// Live or test data.
    pub livemode: bool,
    /// The account's publishable key.
    pub publishable_key: Option<String>,
}

impl std::fmt::Display for GrantedAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.account, self.scope)
    }
}

/// The OAuth side of Stripe Connect.
#[derive(Debug, Clone)]
pub struct StripeOAuth {
    client: StripeOAuthClient,
    endpoints: StripeEndpoints,
}

/// The OAuth client could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid OAuth endpoint: {0}")]
pub struct OAuthConfigError(String);

impl StripeOAuth {
    /// Builds the client once at start-up.
    pub fn new(endpoints: StripeEndpoints, redirect_uri: Url) -> Result<Self, OAuthConfigError> {
        let bad = |e: url::ParseError| OAuthConfigError(e.to_string());
        let client = Client::new(ClientId::new(endpoints.client_id.clone()))
            .set_client_secret(ClientSecret::new(endpoints.secret_key.expose().to_owned()))
            .set_auth_uri(
                AuthUrl::new(join_path(&endpoints.browser_connect_url, "/oauth/authorize").into())
                    .map_err(bad)?,
            )
            .set_token_uri(
                TokenUrl::new(join_path(&endpoints.connect_url, "/oauth/token").into())
                    .map_err(bad)?,
            )
            .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).map_err(bad)?)
            // Stripe's documented body form: client_secret=sk_… in the form body.
            .set_auth_type(AuthType::RequestBody);
        Ok(Self { client, endpoints })
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &StripeEndpoints {
        &self.endpoints
    }

    /// The authorize URL for a given `state`.
    pub fn authorize_url(&self, state: &str) -> Url {
        let state = state.to_owned();
        let (mut url, _) = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(SCOPE.into()))
            .add_extra_param("stripe_landing", "login")
            .url();
        url.set_fragment(None);
        url
    }

    /// Exchanges an authorization code for tokens. Called at most once per code.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        http: &oauth2::reqwest::Client,
        code: &str,
    ) -> Result<GrantedAccess, StripeError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        granted_access(&response)
    }

    /// Revokes our access to `account` at Stripe (`POST /oauth/deauthorize`).
    #[tracing::instrument(skip(self, http))]
    pub async fn deauthorize(
        &self,
        http: &oauth2::reqwest::Client,
        account: &StripeAccountId,
    ) -> Result<(), StripeError> {
        let response = http
            .post(join_path(&self.endpoints.connect_url, "/oauth/deauthorize"))
            .basic_auth(self.endpoints.secret_key.expose(), Some(""))
            .form(&[
                ("client_id", self.endpoints.client_id.as_str()),
                ("stripe_user_id", account.as_str()),
            ])
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status.is_success() {
            return Ok(());
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

fn token_error(
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
        // Never echo the body: on a half-valid answer it may contain a token.
        RequestTokenError::Parse(e, _) => {
            StripeError::Malformed(format!("token response did not parse at {}", e.path()))
        }
        RequestTokenError::Other(msg) => StripeError::Malformed(msg),
    }
}

/// Checks a parsed token response: a bearer token, a well-formed account id, a known scope.
fn granted_access(response: &StripeTokenResponse) -> Result<GrantedAccess, StripeError> {
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
        .unwrap_or_else(|| SCOPE.to_owned());
    if !matches!(scope.as_str(), "read_only" | "read_write") {
        return Err(StripeError::Malformed(format!("unexpected scope {scope}")));
    }
    Ok(GrantedAccess {
        account,
        access_token,
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        scope,
        livemode: extra.livemode,
        publishable_key: extra.stripe_publishable_key.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<GrantedAccess, StripeError> {
        let response: StripeTokenResponse =
            serde_json::from_str(json).map_err(|e| StripeError::Malformed(e.to_string()))?;
        granted_access(&response)
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
        assert_eq!(g.access_token, "sk_test_abc");
        assert_eq!(g.refresh_token.as_deref(), Some("rt_1"));
        assert_eq!(g.scope, "read_only");
        assert!(!g.livemode);
        assert_eq!(g.publishable_key.as_deref(), Some("pk_test_1"));
        assert!(!g.to_string().contains("sk_test_abc"));
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
        let endpoints = StripeEndpoints {
            client_id: "ca_123".into(),
            secret_key: crate::config::Secret::new("sk_test_secret"),
            browser_connect_url: Url::parse("https://connect.stripe.com").unwrap(),
            connect_url: Url::parse("https://connect.stripe.com").unwrap(),
            api_url: Url::parse("https://api.stripe.com").unwrap(),
        };
        let oauth = StripeOAuth::new(
            endpoints,
            Url::parse("https://bi.example/oauth/stripe/callback").unwrap(),
        )
        .unwrap();
        let url = oauth.authorize_url("st4te");
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
