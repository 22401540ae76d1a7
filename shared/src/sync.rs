//! The synced Stripe data as the API shows it (SPEC §5.2): each table's state, and pages of rows.

use serde::{Deserialize, Serialize};

/// Where a connection's sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Nothing queued or running; the last sync (if any) completed.
    Idle,
    /// A sync waits for a worker (or for its next retry).
    Queued,
    /// A sync runs.
    Running,
    /// The last sync failed.
    Error,
}

/// Progress of a table's pass under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncProgress {
    /// Objects stored so far in this pass.
    pub done: i64,
    /// Objects expected (the last pass's count, or `done` when more were already stored).
    pub total: i64,
    /// Pages read so far in this pass.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub pages: i64,
    /// `total` is an expectation: a pass completed before (Stripe does not say how many objects a
    /// list holds, so a first pass knows only what it has read).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(default)]
    pub expected: bool,
}

/// Why a table could not be synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncError {
    /// A stable code (`unauthorized`, `forbidden`, `needs_reauth`, `stripe_unavailable`, …).
    pub code: String,
    /// The same in plain words.
    pub message: String,
}

/// One synced table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableSync {
    /// `customers`, `charges`, …
    pub name: String,
    /// Rows after the last completed pass.
    pub rows: i64,
    /// When the last pass completed (unix seconds).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub synced_at: Option<i64>,
    /// Every change Stripe made before this moment (unix seconds) is in the table, as far as the
    /// product can know: an events pass moves it to its start, a webhook applied to its event's
    /// time. Null until a pass completed the table.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub fresh_as_of: Option<i64>,
    /// While a pass of this table runs.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub progress: Option<SyncProgress>,
    /// Why the last attempt failed.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<SyncError>,
}

/// `GET /api/connections/{id}/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncStatus {
    /// Where the sync stands.
    pub status: SyncState,
    /// The oldest of the tables' `fresh_as_of` (null while any has none).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub fresh_as_of: Option<i64>,
    /// The seven tables, in the help page's order.
    pub tables: Vec<TableSync>,
}

/// `GET /api/connections/{id}/tables/{table}`: rows (Stripe objects) in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TablePage<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// More rows follow the last one.
    pub has_more: bool,
}

/// What the front end shows of a row of a [`TablePage`] (a whole Stripe object on the wire; its
/// other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowSummary {
    /// The Stripe id.
    pub id: String,
    /// `created` (unix seconds), when the object has it.
    #[serde(default)]
    pub created: Option<i64>,
    /// Marked `"deleted": true` (a deleted customer).
    #[serde(default)]
    pub deleted: bool,
}
