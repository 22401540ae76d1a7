//! A restricted-key connection stored as the restricted-key flow stores one (inserted directly: the
//! flow itself checks the key against Stripe first), for the tests and the benchmarks.

use backend::ids::ConnectionId;
use backend::state::AppState;

/// Stores a connection of `account`, named `name`, read with the restricted key `key`.
pub async fn store_key_connection(
    state: &AppState,
    account: &str,
    name: &str,
    key: &str,
    livemode: bool,
) -> ConnectionId {
    let now = state.clock.now();
    let new = backend::store::NewConnection {
        stripe_user_id: account.to_owned(),
        livemode,
        display_name: name.to_owned(),
        scope: "restricted_key".into(),
        publishable_key: None,
        credential: backend::domain::Credential {
            kind: shared::AuthKind::RestrictedKey,
            secret: backend::config::Secret::new(key),
            refresh_token: None,
            expires_at: None,
        },
        key_last4: Some(key[key.len().saturating_sub(4)..].to_owned()),
        started_at: now,
        duration_ms: 0,
        next_check_at: now + 3600,
        organization: None,
    };
    backend::store::upsert_connection(&state.pool, &state.cipher, &new, now)
        .await
        .expect("connection")
}
