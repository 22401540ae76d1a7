//! The warehouse's reader logins (PostgreSQL): a login role that may read the views of the
//! warehouse schemas — of one organization, or of all — and nothing else: the product's tables
//! and the typed tables behind the views are never granted (a view reads them with its owner's
//! rights). Views made later are granted as they are made (`grant_view`).

use crate::ids::{ConnectionId, OrganizationId};
use crate::store::{args, Db, Dialect, StoreError, Tx};

/// Why a reader was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderRefusal {
    /// SQLite has no logins.
    NotPostgres,
    /// A role of that name exists already.
    RoleExists,
}

/// The organizations a host names `external_id` (several hosts may use the same name).
pub async fn organizations_named(
    pool: &Db,
    external_id: &str,
) -> Result<Vec<OrganizationId>, StoreError> {
    pool.scalar_all(
        "SELECT id FROM organizations WHERE external_id = $1 ORDER BY id",
        args![external_id],
    )
    .await
}

/// Creates the login `role` (a name checked by the caller: `[a-z_][a-z0-9_]{0,62}`) with
/// `password` (`[A-Za-z0-9]` only), able to read the warehouse schemas of `organization` (all when
/// `None`) that exist now and those made later.
pub async fn create_reader(
    pool: &Db,
    role: &str,
    password: &str,
    organization: Option<OrganizationId>,
    now: i64,
) -> Result<Result<(), ReaderRefusal>, StoreError> {
    if pool.dialect() != Dialect::Postgres {
        return Ok(Err(ReaderRefusal::NotPostgres));
    }
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = tx
        .scalar_optional(
            "SELECT CAST(1 AS BIGINT) FROM pg_roles WHERE rolname = $1",
            args![role],
        )
        .await?;
    if exists.is_some() {
        return Ok(Err(ReaderRefusal::RoleExists));
    }
    tx.execute(
        "INSERT INTO warehouse_readers (role_name, organization_id, created_at) VALUES ($1, $2, $3)",
        args![role, organization, now],
    )
    .await?;
    // (A role and its password cannot be bound: both are made of checked characters only.)
    tx.execute(
        &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' NOINHERIT"),
        args![],
    )
    .await?;
    let schemas: Vec<String> = tx
        .scalar_all(
            "SELECT c.warehouse_schema FROM connections c \
             JOIN pg_namespace n ON n.nspname = c.warehouse_schema \
             WHERE ($1::BIGINT IS NULL OR c.organization_id = $1::BIGINT)",
            args![organization],
        )
        .await?;
    for schema in schemas {
        tx.execute(
            &format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
            args![],
        )
        .await?;
        tx.execute(
            &format!("GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\""),
            args![],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Grants a view just made (`view`, quoted, in `schema`) of the connection to the readers that
/// may see it.
pub(super) async fn grant_view(
    tx: &mut Tx,
    connection_id: ConnectionId,
    schema: &str,
    view: &str,
) -> Result<(), StoreError> {
    let readers: Vec<String> = tx
        .scalar_all(
            "SELECT r.role_name FROM warehouse_readers r, connections c \
             WHERE c.id = $1 AND (r.organization_id IS NULL OR r.organization_id = c.organization_id)",
            args![connection_id],
        )
        .await?;
    for role in readers {
        tx.execute(
            &format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
            args![],
        )
        .await?;
        tx.execute(&format!("GRANT SELECT ON {view} TO \"{role}\""), args![])
            .await?;
    }
    Ok(())
}
