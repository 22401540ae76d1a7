//! OAuth `state` values waiting for their callback: stored hashed, bound to a session, consumed once.

use crate::ids::{ConnectionId, OrganizationId};

use super::{args, Db};

use super::StoreError;

/// How long an OAuth `state` stays valid.
pub const STATE_TTL_SECS: i64 = 10 * 60;

fn state_hash(state: &str) -> String {
    crate::crypto::sha256_hex(state)
}

/// Where a widget's flow reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetTarget {
    /// The host page's origin (the popup posts the outcome there).
    pub origin: String,
    /// Who started the flow (`widget:<email>`).
    pub actor: String,
    /// A full-page flow (the popup was blocked): the host page to send the browser back to.
    pub return_to: Option<String>,
}

/// Who a `state` is issued to.
#[derive(Debug, Clone, Copy)]
pub struct StateOwner<'a> {
    /// Hash of the starting browser's nonce (the Admin's session, or the widget popup's cookie).
    pub binding: &'a str,
    /// The connection being re-authenticated, if any.
    pub connection_id: Option<ConnectionId>,
    /// The organization a new connection goes to.
    pub organization_id: OrganizationId,
    /// For a widget's flow: where it reports back.
    pub widget: Option<&'a WidgetTarget>,
}

/// Remembers a freshly issued `state`, bound to its owner, until `now + STATE_TTL_SECS`, and
/// forgets expired ones.
pub async fn save_state(
    pool: &Db,
    state: &str,
    owner: StateOwner<'_>,
    now: i64,
) -> Result<(), StoreError> {
    pool.execute(
        "DELETE FROM oauth_states WHERE expires_at <= $1",
        args![now],
    )
    .await?;
    pool.execute(
        "INSERT INTO oauth_states (state_hash, session_binding, connection_id, created_at, \
         expires_at, organization_id, widget_origin, actor, return_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            state_hash(state),
            owner.binding,
            owner.connection_id,
            now,
            now + STATE_TTL_SECS,
            owner.organization_id,
            owner.widget.map(|w| w.origin.as_str()),
            owner.widget.map(|w| w.actor.as_str()),
            owner.widget.and_then(|w| w.return_to.as_deref())
        ],
    )
    .await?;
    Ok(())
}

/// What a consumed `state` was bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedState {
    /// Hash of the starting session's nonce.
    pub session_binding: String,
    /// The connection being re-authenticated, if any.
    pub connection_id: Option<ConnectionId>,
    /// The organization a new connection goes to.
    pub organization_id: OrganizationId,
    /// For a widget's flow: where it reports back.
    pub widget: Option<WidgetTarget>,
}

/// Consumes `state`: its session binding, exactly once, for a state issued less than
/// `STATE_TTL_SECS` ago. The row is deleted in the same statement that finds it, so two concurrent
/// callbacks cannot both succeed.
pub async fn consume_state(
    pool: &Db,
    state: &str,
    now: i64,
) -> Result<Option<ConsumedState>, StoreError> {
    type Row = (
        i64,
        String,
        Option<ConnectionId>,
        OrganizationId,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = pool
        .fetch_optional(
            "DELETE FROM oauth_states WHERE state_hash = $1 \
             RETURNING expires_at, session_binding, connection_id, organization_id, widget_origin, \
                 actor, return_to",
            args![state_hash(state)],
        )
        .await?;
    Ok(row.and_then(
        |(
            expires_at,
            session_binding,
            connection_id,
            organization_id,
            origin,
            actor,
            return_to,
        )| {
            (expires_at > now).then_some(ConsumedState {
                session_binding,
                connection_id,
                organization_id,
                widget: origin.zip(actor).map(|(origin, actor)| WidgetTarget {
                    origin,
                    actor,
                    return_to,
                }),
            })
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(binding: &str, connection_id: Option<ConnectionId>) -> StateOwner<'_> {
        StateOwner {
            binding,
            connection_id,
            organization_id: OrganizationId(1),
            widget: None,
        }
    }

    async fn pool() -> Db {
        super::super::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn a_state_is_consumed_exactly_once() {
        let pool = pool().await;
        save_state(&pool, "s1", owner("b1", Some(ConnectionId(4))), 1_000)
            .await
            .unwrap();
        assert_eq!(
            consume_state(&pool, "s1", 1_001).await.unwrap(),
            Some(ConsumedState {
                session_binding: "b1".into(),
                connection_id: Some(ConnectionId(4)),
                organization_id: OrganizationId(1),
                widget: None,
            })
        );
        assert_eq!(consume_state(&pool, "s1", 1_002).await.unwrap(), None);
        assert_eq!(
            consume_state(&pool, "never-issued", 1_002).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_expired_state_is_refused_and_removed() {
        let pool = pool().await;
        save_state(&pool, "old", owner("b", None), 1_000)
            .await
            .unwrap();
        assert_eq!(
            consume_state(&pool, "old", 1_000 + STATE_TTL_SECS)
                .await
                .unwrap(),
            None
        );
        save_state(&pool, "fresh", owner("b", None), 1_000)
            .await
            .unwrap();
        assert!(consume_state(&pool, "fresh", 1_000 + STATE_TTL_SECS - 1)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn states_are_stored_hashed() {
        let pool = pool().await;
        save_state(&pool, "plain-state-value", owner("b", None), 1)
            .await
            .unwrap();
        let stored: String = pool
            .scalar_one("SELECT state_hash FROM oauth_states", args![])
            .await
            .unwrap();
        assert_ne!(stored, "plain-state-value");
        assert_eq!(stored.len(), 64);
    }
}
