//! The REST API on a connected account's behalf: API-key authentication of every `/v1/*` read
//! (access tokens, restricted keys, the platform key with `Stripe-Account`), restricted keys'
//! permissions, `GET /v1/account` and the seven lists.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::fixtures::ListKind;
use super::wire::{api_error, header_key, mask, unique_pairs, ApiError};
use super::{random_token, DemoAccount, Emulator, Endpoint, Reply, RestrictedKey};

/// Every permission a restricted key can be given: read on the seven lists and on the account.
pub const RESTRICTED_KEY_PERMISSIONS: [&str; 8] = [
    "rak_customer_read",
    "rak_charge_read",
    "rak_coupon_read",
    "rak_invoice_read",
    "rak_plan_read",
    "rak_subscription_read",
    "rak_event_read",
    "rak_account_read",
];

const ACCOUNT_READ: &str = "rak_account_read";

/// Who a `/v1/*` request acts as.
struct Caller {
    account: String,
    key: String,
    /// `None`: full access (a token or the platform key); else a restricted key's permissions.
    permissions: Option<Vec<&'static str>>,
}

impl Emulator {
    /// A new `rk_test_…` key for the demo account `account_id` with exactly `permissions` (names
    /// from [`RESTRICTED_KEY_PERMISSIONS`]), as the account owner creates one in the Dashboard.
    pub fn create_restricted_key(
        &self,
        account_id: &str,
        permissions: &[&str],
    ) -> Result<String, String> {
        if self.demo_account(account_id).is_none() {
            return Err(format!("No such account: '{account_id}'"));
        }
        let mut granted: Vec<&'static str> = Vec::new();
        for p in permissions {
            let known = RESTRICTED_KEY_PERMISSIONS
                .iter()
                .find(|k| *k == p)
                .ok_or_else(|| format!("Unknown permission: '{p}'"))?;
            if !granted.contains(known) {
                granted.push(known);
            }
        }
        let key = format!("rk_test_{}", random_token(32));
        self.lock().restricted_keys.insert(
            key.clone(),
            RestrictedKey {
                account: account_id.to_owned(),
                permissions: granted,
            },
        );
        Ok(key)
    }

    /// Who the request's key acts as, or Stripe's refusal.
    fn authenticate_api(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(key) = header_key(headers) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            ));
        };
        let now = self.now();
        let state = self.lock();
        let full = |account: String| Caller {
            account,
            key: key.clone(),
            permissions: None,
        };
        if key == self.config.secret_key {
            // The platform key may act for a connected account through `Stripe-Account`.
            return match headers.get("stripe-account").and_then(|v| v.to_str().ok()) {
                Some(a) if state.is_connected(a) => Ok(full(a.to_owned())),
                Some(a) => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("The provided key '{}' does not have access to account '{a}' (or that account does not exist). Application access may have been revoked.", mask(&key)),
                )),
                None => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "The emulator has no platform account object; pass Stripe-Account.",
                )),
            };
        }
        if let Some(t) = state.access_tokens.get(&key) {
            if t.revoked {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!("The provided key '{}' does not have access to account '{}' (or that account does not exist). Application access may have been revoked.", mask(&key), t.account),
                ));
            }
            if t.expires_at.is_some_and(|at| now >= at) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!("Expired API Key provided: {}", mask(&key)),
                )
                .code("api_key_expired"));
            }
            return Ok(full(t.account.clone()));
        }
        if let Some(r) = state.restricted_keys.get(&key) {
            return Ok(Caller {
                account: r.account.clone(),
                key: key.clone(),
                permissions: Some(r.permissions.clone()),
            });
        }
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("Invalid API Key provided: {}", mask(&key)),
        ))
    }

    /// A restricted key needs `permission`; Stripe names it in the 403.
    fn require(caller: &Caller, permission: &str) -> Result<(), ApiError> {
        match &caller.permissions {
            Some(granted) if !granted.contains(&permission) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "The provided key '{}' does not have the required permissions for this endpoint on account '{}'. Having the '{permission}' permission would allow this request to continue.",
                    mask(&caller.key),
                    caller.account
                ),
            )),
            _ => Ok(()),
        }
    }

    fn account(&self, headers: &HeaderMap) -> Result<Reply, ApiError> {
        let caller = self.authenticate_api(headers)?;
        Self::require(&caller, ACCOUNT_READ)?;
        let account = self
            .demo_account(&caller.account)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No such account"))?;
        Ok(Json(json!({
            "id": account.id,
            "object": "account",
            "business_profile": { "name": account.display_name, "url": null },
            "settings": { "dashboard": { "display_name": account.display_name, "timezone": "Etc/UTC" } },
            "email": account.email,
            "country": "US",
            "default_currency": "usd",
            "type": "standard",
            "charges_enabled": true,
            "payouts_enabled": true,
            "details_submitted": true,
        }))
        .into_response())
    }

    /// The demo account a read of `kind` acts on, once its key may read it.
    pub(super) fn reader(
        &self,
        kind: ListKind,
        headers: &HeaderMap,
    ) -> Result<&DemoAccount, ApiError> {
        let caller = self.authenticate_api(headers)?;
        Self::require(&caller, kind.permission())?;
        self.demo_account(&caller.account)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No such account"))
    }

    fn list(&self, kind: ListKind, headers: &HeaderMap, query: &str) -> Result<Reply, ApiError> {
        let account = self.reader(kind, headers)?;
        let params = unique_pairs(query).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
        let query = ListQuery::parse(kind, &params)?;
        let all = self.current_objects(account, kind);
        let (data, has_more) = query.page(kind, &all)?;
        let data: Vec<Value> = data.into_iter().map(super::children::cut).collect();
        Ok(Json(json!({
            "object": "list",
            "url": format!("/v1/{}", kind.name()),
            "has_more": has_more,
            "data": data,
        }))
        .into_response())
    }

    fn retrieve(&self, kind: ListKind, id: &str, headers: &HeaderMap) -> Result<Reply, ApiError> {
        let account = self.reader(kind, headers)?;
        let object = self.current_object(account, kind, id).map_err(|()| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("No such {}: '{id}'", kind.object()),
            )
            .code("resource_missing")
            .param("id")
        })?;
        Ok(Json(super::children::cut(object)).into_response())
    }
}

/// A list request's parameters after Stripe's checks.
struct ListQuery {
    limit: usize,
    starting_after: Option<String>,
    ending_before: Option<String>,
    /// `(operator, bound)`: `eq`, `gt`, `gte`, `lt`, `lte`.
    created: Vec<(&'static str, i64)>,
    status: Option<String>,
}

const SUBSCRIPTION_STATUSES: [&str; 10] = [
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
    "all",
    "ended",
];

fn bad_param(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).param(param)
}

impl ListQuery {
    fn parse(kind: ListKind, params: &HashMap<String, String>) -> Result<Self, ApiError> {
        let mut q = Self {
            limit: 10,
            starting_after: None,
            ending_before: None,
            created: Vec::new(),
            status: None,
        };
        let integer = |name: &str, v: &str| {
            v.parse::<i64>()
                .map_err(|_| bad_param(name, format!("Invalid integer: {v}")))
        };
        // Sorted, so the first unknown parameter reported does not depend on hashing.
        let mut names: Vec<&String> = params.keys().collect();
        names.sort();
        for name in names {
            let value = params.get(name).map(String::as_str).unwrap_or_default();
            match name.as_str() {
                "limit" => {
                    let n = integer(name, value)?;
                    if n < 1 {
                        return Err(bad_param(
                            name,
                            "This value must be greater than or equal to 1.",
                        ));
                    }
                    if n > 100 {
                        return Err(bad_param(
                            name,
                            "This value must be less than or equal to 100.",
                        ));
                    }
                    q.limit = usize::try_from(n).unwrap_or(100);
                }
                "starting_after" => q.starting_after = Some(value.to_owned()),
                "ending_before" => q.ending_before = Some(value.to_owned()),
                "created" => q.created.push(("eq", integer(name, value)?)),
                "created[gt]" => q.created.push(("gt", integer(name, value)?)),
                "created[gte]" => q.created.push(("gte", integer(name, value)?)),
                "created[lt]" => q.created.push(("lt", integer(name, value)?)),
                "created[lte]" => q.created.push(("lte", integer(name, value)?)),
                "status" if kind == ListKind::Subscriptions => {
                    if !SUBSCRIPTION_STATUSES.contains(&value) {
                        return Err(bad_param(
                            name,
                            format!(
                                "Invalid status: must be one of {}",
                                SUBSCRIPTION_STATUSES.join(", ")
                            ),
                        ));
                    }
                    q.status = Some(value.to_owned());
                }
                other => {
                    return Err(bad_param(
                        other,
                        format!("Received unknown parameter: {other}"),
                    ))
                }
            }
        }
        if q.starting_after.is_some() && q.ending_before.is_some() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "You may only specify one of these parameters: starting_after, ending_before.",
            ));
        }
        Ok(q)
    }

    fn matches(&self, item: &Value) -> bool {
        let created = item["created"].as_i64().unwrap_or_default();
        let in_range = self.created.iter().all(|(op, bound)| match *op {
            "gt" => created > *bound,
            "gte" => created >= *bound,
            "lt" => created < *bound,
            "lte" => created <= *bound,
            _ => created == *bound,
        });
        let status = item["status"].as_str().unwrap_or_default();
        let status_ok = match self.status.as_deref() {
            // Subscriptions hide canceled ones unless asked for (other lists have no filter).
            None => !matches!(status, "canceled" | "incomplete_expired"),
            Some("all") => true,
            Some("ended") => matches!(status, "canceled" | "incomplete_expired"),
            Some(s) => status == s,
        };
        in_range && (item["object"] != "subscription" || status_ok)
    }

    /// One page of `all` (newest first): `(data, has_more)`.
    fn page(&self, kind: ListKind, all: &[Value]) -> Result<(Vec<Value>, bool), ApiError> {
        let position = |param: &str, id: &str| {
            all.iter().position(|v| v["id"] == id).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("No such {}: '{id}'", kind.object()),
                )
                .code("resource_missing")
                .param(param)
            })
        };
        let matching = |items: &[Value]| -> Vec<Value> {
            items.iter().filter(|v| self.matches(v)).cloned().collect()
        };
        if let Some(id) = &self.ending_before {
            let before = matching(&all[..position("ending_before", id)?]);
            let start = before.len().saturating_sub(self.limit);
            return Ok((before[start..].to_vec(), start > 0));
        }
        let rest = match &self.starting_after {
            Some(id) => matching(&all[position("starting_after", id)? + 1..]),
            None => matching(all),
        };
        let has_more = rest.len() > self.limit;
        Ok((rest.into_iter().take(self.limit).collect(), has_more))
    }
}

/// `GET /v1/account`.
pub(super) async fn account_handler(State(emu): State<Emulator>, headers: HeaderMap) -> Reply {
    if let Some(reply) = emu.fault(Endpoint::Account).await {
        return reply;
    }
    emu.account(&headers)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/{customers,charges,coupons,invoices,plans,subscriptions,events}`.
pub(super) async fn list_handler(
    State(emu): State<Emulator>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    let kind = match list_kind(&emu, &name, &format!("/v1/{name}")).await {
        Ok(kind) => kind,
        Err(reply) => return reply,
    };
    emu.list(kind, &headers, &query.unwrap_or_default())
        .unwrap_or_else(IntoResponse::into_response)
}

/// The list named by a path segment (else Stripe's 404), unless a fault is injected on lists.
async fn list_kind(emu: &Emulator, name: &str, path: &str) -> Result<ListKind, Reply> {
    let Some(kind) = ListKind::parse(name) else {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            format!("Unrecognized request URL (GET: {path})."),
        ));
    };
    match emu.fault(Endpoint::Lists).await {
        Some(reply) => Err(reply),
        None => Ok(kind),
    }
}

/// `GET /v1/{list}/{id}`: one object (a deleted customer: its stub).
pub(super) async fn retrieve_handler(
    State(emu): State<Emulator>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    let kind = match list_kind(&emu, &name, &format!("/v1/{name}/{id}")).await {
        Ok(kind) => kind,
        Err(reply) => return reply,
    };
    if let Some(param) = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find(|p| !p.is_empty())
    {
        let name = param.split('=').next().unwrap_or_default();
        return bad_param(name, format!("Received unknown parameter: {name}")).into_response();
    }
    emu.retrieve(kind, &id, &headers)
        .unwrap_or_else(IntoResponse::into_response)
}
