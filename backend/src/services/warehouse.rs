//! The Data Warehouse Manager behind its route: a connection's schema and columns as the API shows
//! them (`id` first, `deleted` last, every table), and changes to them checked before the store
//! applies them at once.

use shared::{
    ColumnType, Warehouse, WarehouseChange, WarehouseColumn, WarehouseRows, WarehouseTable,
};

use crate::ids::ConnectionId;
use crate::state::AppState;
use crate::store::{self, StoreError, WarehouseRefusal};
use crate::warehouse::{children, schema, TABLES};

/// Why a warehouse request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("no such connection")]
    NotFound,
    #[error("a schema name is [a-z_][a-z0-9_]{{0,62}} and not one PostgreSQL keeps")]
    InvalidSchema,
    #[error("the schema name is another connection's")]
    SchemaTaken,
    #[error("no such column: {0}")]
    UnknownColumn(String),
    #[error("limit must be between 1 and {}", super::sync::MAX_LIMIT)]
    BadLimit,
    #[error("id, deleted and a child's parent id are always tracked")]
    ColumnRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The columns every relation has, around its fields.
const ID: &str = "id";
const DELETED: &str = "deleted";

/// `GET /api/connections/{id}/warehouse`.
pub async fn describe(app: &AppState, id: ConnectionId) -> Result<Warehouse, WarehouseError> {
    let stored = store::warehouse(&app.pool, id)
        .await?
        .ok_or(WarehouseError::NotFound)?;
    let fixed = |name: &str, kind| WarehouseColumn {
        name: name.to_owned(),
        kind,
        tracked: true,
    };
    let tables = TABLES
        .iter()
        .map(|&table| {
            let relation = stored.tables.iter().find(|r| r.name == table);
            let fields = relation.map(|r| r.columns.as_slice()).unwrap_or_default();
            let mut columns = vec![fixed(ID, ColumnType::Text)];
            columns.extend(fields.iter().map(|c| WarehouseColumn {
                name: c.name.clone(),
                kind: c.kind,
                tracked: c.tracked,
            }));
            columns.push(fixed(DELETED, ColumnType::Boolean));
            WarehouseTable {
                name: table.to_owned(),
                columns,
                misfits: relation.map_or(0, |r| u64::try_from(r.misfits).unwrap_or(0)),
            }
        })
        .collect();
    Ok(Warehouse {
        schema: stored.schema,
        tables,
    })
}

/// `GET /api/connections/{id}/warehouse/{table}`: up to `limit` rows (1–1000, default 100) after
/// the id `after`.
pub async fn rows(
    app: &AppState,
    id: ConnectionId,
    table: &str,
    limit: Option<i64>,
    after: Option<&str>,
) -> Result<WarehouseRows, WarehouseError> {
    if !TABLES.contains(&table) {
        return Err(WarehouseError::NotFound);
    }
    let limit = limit.unwrap_or(super::sync::DEFAULT_LIMIT);
    if !(1..=super::sync::MAX_LIMIT).contains(&limit) {
        return Err(WarehouseError::BadLimit);
    }
    let page = store::relation_rows(&app.pool, id, table, after, limit)
        .await?
        .ok_or(WarehouseError::NotFound)?;
    Ok(WarehouseRows {
        columns: page
            .columns
            .into_iter()
            .map(|c| WarehouseColumn {
                name: c.name,
                kind: c.kind,
                tracked: c.tracked,
            })
            .collect(),
        rows: page.rows,
        has_more: page.has_more,
    })
}

/// `PUT /api/connections/{id}/warehouse`: renames the schema and sets the tracked flags, all or
/// nothing; the warehouse as it is after.
pub async fn change(
    app: &AppState,
    id: ConnectionId,
    change: &WarehouseChange,
) -> Result<Warehouse, WarehouseError> {
    if !schema::is_valid(&change.schema) {
        return Err(WarehouseError::InvalidSchema);
    }
    let mut tracked = Vec::new();
    for table in &change.tables {
        if !TABLES.contains(&table.name.as_str()) {
            return Err(WarehouseError::UnknownColumn(table.name.clone()));
        }
        for column in &table.columns {
            let parent_key = children::as_child(&table.name).map(|c| c.parent_key());
            if column.name == ID
                || column.name == DELETED
                || Some(column.name.as_str()) == parent_key
            {
                if !column.tracked {
                    return Err(WarehouseError::ColumnRequired);
                }
                continue;
            }
            tracked.push((table.name.clone(), column.name.clone(), column.tracked));
        }
    }
    match store::change_warehouse(&app.pool, id, &change.schema, &tracked).await? {
        Ok(()) => describe(app, id).await,
        Err(WarehouseRefusal::NotFound) => Err(WarehouseError::NotFound),
        Err(WarehouseRefusal::SchemaTaken) => Err(WarehouseError::SchemaTaken),
        Err(WarehouseRefusal::UnknownColumn(c)) => Err(WarehouseError::UnknownColumn(c)),
    }
}

/// Why `create-reader` made no login.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("a reader's name is [a-z_][a-z0-9_]{{0,62}}")]
    InvalidName,
    #[error("no organization is named {0}")]
    UnknownOrganization(String),
    #[error("several host products name an organization {0}: nothing was created")]
    AmbiguousOrganization(String),
    #[error(
        "SQLite has no logins: a BI tool reads the warehouse by opening the database file \
         read-only (see the README)"
    )]
    NotPostgres,
    #[error("a role named {0} exists already")]
    RoleExists(String),
    #[error("DATABASE_URL is not a URL")]
    BadUrl,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `backend create-reader`: a login that may read the warehouse schemas (of the organization a
/// host names `organization`, when given) and nothing else; its `postgres://` URL, with the
/// password generated now (shown once, stored only as PostgreSQL keeps it).
pub async fn create_reader(
    pool: &crate::store::Db,
    database_url: &str,
    name: &str,
    organization: Option<&str>,
    now: i64,
) -> Result<String, ReaderError> {
    if !schema::is_valid(name) {
        return Err(ReaderError::InvalidName);
    }
    let organization = match organization {
        None => None,
        Some(external) => match store::organizations_named(pool, external).await?.as_slice() {
            [] => return Err(ReaderError::UnknownOrganization(external.to_owned())),
            [one] => Some(*one),
            _ => return Err(ReaderError::AmbiguousOrganization(external.to_owned())),
        },
    };
    let mut url = url::Url::parse(database_url).map_err(|_| ReaderError::BadUrl)?;
    let password = crate::users::generate_password();
    match store::create_reader(pool, name, &password, organization, now).await? {
        Ok(()) => {}
        Err(store::ReaderRefusal::NotPostgres) => return Err(ReaderError::NotPostgres),
        Err(store::ReaderRefusal::RoleExists) => {
            return Err(ReaderError::RoleExists(name.to_owned()))
        }
    }
    url.set_username(name).map_err(|()| ReaderError::BadUrl)?;
    url.set_password(Some(&password))
        .map_err(|()| ReaderError::BadUrl)?;
    Ok(url.to_string())
}
