//! The API's JSON answers read into the `shared` types: the browser's `JSON.parse`, then one small
//! non-generic function per type. serde_json's deserializer plus a derived visitor per type (and
//! per `Option`/`Vec` of it) was the largest part of the wasm after the views, and the SPA has a
//! 150 KiB gzip budget. Request bodies are written by hand too (`json_body`).
//!
//! The rules are serde's derive as the backend uses it, so these read exactly what it writes (the
//! component tests decode serde's own output for every answer type): unknown fields are ignored;
//! an `Option` field may be missing or `null`; a `#[serde(default)]` field may be missing; any
//! other missing field, or a value of the wrong type, fails the whole answer. Codes go through the
//! enums' `from_wire`, so an unknown code reads as the catch-all (`Problem::Unknown`,
//! `AuditAction::Other`) or fails like serde.

use js_sys::{Array, Reflect, JSON};
use shared::{
    ApiError, AuditAction, AuditDetail, AuditEntry, AuthKind, AuthorizeResponse, CallbackNotice,
    Connection, ConnectionDetail, ConnectionStatus, CreateUserResponse, CreatedHostKey,
    DeleteOutcome, ErrorCode, ErrorReason, HostKey, IntegrationKind, Locale, MissingPermission,
    Problem, Removal, Role, ServerInfo, SyncError, SyncProgress, SyncState, SyncStatus, TablePage,
    TableSync, User,
};
use wasm_bindgen::{JsCast, JsValue};

/// A value read from parsed JSON; `None` when the JSON does not have its shape.
pub trait FromJson: Sized {
    /// Reads `value`.
    fn from_json(value: &JsValue) -> Option<Self>;
}

/// Parses `text` and reads a `T` from it. An empty text is `null` (a 204 has no body).
pub fn parse<T: FromJson>(text: &str) -> Option<T> {
    let value = if text.is_empty() {
        JsValue::NULL
    } else {
        JSON::parse(text).ok()?
    };
    T::from_json(&value)
}

/// `object[key]`, or `undefined` when it is absent or `object` is not an object.
fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A field: required unless `T` is an `Option`.
fn field<T: FromJson>(object: &JsValue, key: &str) -> Option<T> {
    T::from_json(&get(object, key))
}

/// A `#[serde(default)]` field: its default when missing.
fn field_or_default<T: FromJson + Default>(object: &JsValue, key: &str) -> Option<T> {
    let value = get(object, key);
    if value.is_undefined() {
        return Some(T::default());
    }
    T::from_json(&value)
}

impl FromJson for String {
    fn from_json(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

impl FromJson for i64 {
    fn from_json(value: &JsValue) -> Option<Self> {
        // Whole numbers only, as serde_json reads an i64.
        let n = value.as_f64()?;
        let i = n as i64;
        (i as f64 == n).then_some(i)
    }
}

impl FromJson for bool {
    fn from_json(value: &JsValue) -> Option<Self> {
        value.as_bool()
    }
}

/// `null`: the body of an answer that has none.
impl FromJson for () {
    fn from_json(value: &JsValue) -> Option<Self> {
        value.is_null().then_some(())
    }
}

/// Missing or `null` is `None`.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &JsValue) -> Option<Self> {
        if value.is_null() || value.is_undefined() {
            return Some(None);
        }
        T::from_json(value).map(Some)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &JsValue) -> Option<Self> {
        if !Array::is_array(value) {
            return None;
        }
        // A plain loop: `collect` into `Option<Vec<T>>` cost an iterator adapter per `T`.
        let array = value.unchecked_ref::<Array>();
        let mut items = Vec::with_capacity(array.length() as usize);
        for i in 0..array.length() {
            items.push(T::from_json(&array.get(i))?);
        }
        Some(items)
    }
}

/// The code enums, by their wire names.
macro_rules! codes {
    ($($ty:ty),+) => {
        $(impl FromJson for $ty {
            fn from_json(value: &JsValue) -> Option<Self> {
                Self::from_wire(&value.as_string()?)
            }
        })+
    };
}

codes!(
    IntegrationKind,
    AuthKind,
    Problem,
    ConnectionStatus,
    AuditAction,
    Removal,
    ErrorCode,
    Role,
    Locale,
    ErrorReason
);

impl FromJson for Connection {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: field(v, "id")?,
            name: field(v, "name")?,
            kind: field(v, "kind")?,
            account_id: field(v, "account_id")?,
            livemode: field(v, "livemode")?,
            status: field(v, "status")?,
            last_started_at: field(v, "last_started_at")?,
            last_duration_ms: field(v, "last_duration_ms")?,
            created_at: field(v, "created_at")?,
            last_error: field(v, "last_error")?,
            auth_kind: field_or_default(v, "auth_kind")?,
            key_last4: field(v, "key_last4")?,
            organization: field_or_default(v, "organization")?,
        })
    }
}

impl FromJson for AuditDetail {
    fn from_json(v: &JsValue) -> Option<Self> {
        // An object, even with every field optional (serde refuses `null` or a string here).
        if !v.is_object() {
            return None;
        }
        Some(Self {
            auth_kind: field(v, "auth_kind")?,
            status: field(v, "status")?,
            problem: field(v, "problem")?,
            duration_ms: field(v, "duration_ms")?,
            removal: field(v, "removal")?,
            legacy: field(v, "legacy")?,
        })
    }
}

impl FromJson for AuditEntry {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            actor: field(v, "actor")?,
            action: field(v, "action")?,
            detail: field(v, "detail")?,
            created_at: field(v, "created_at")?,
        })
    }
}

impl FromJson for ConnectionDetail {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            connection: field(v, "connection")?,
            audit: field(v, "audit")?,
        })
    }
}

impl FromJson for DeleteOutcome {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            removal: field(v, "removal")?,
            auth_kind: field(v, "auth_kind")?,
        })
    }
}

impl FromJson for AuthorizeResponse {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            authorize_url: field(v, "authorize_url")?,
            flow_proof: field_or_default(v, "flow_proof")?,
        })
    }
}

impl FromJson for ServerInfo {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            demo_mode: field(v, "demo_mode")?,
            restricted_key_url: field_or_default(v, "restricted_key_url")?,
        })
    }
}

impl FromJson for CallbackNotice {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            connection_id: field(v, "connection_id")?,
            expected: field(v, "expected")?,
            other: field(v, "other")?,
        })
    }
}

impl FromJson for User {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: field(v, "id")?,
            email: field(v, "email")?,
            display_name: field(v, "display_name")?,
            role: field(v, "role")?,
            disabled: field(v, "disabled")?,
            created_at: field(v, "created_at")?,
            last_sign_in_at: field(v, "last_sign_in_at")?,
            locale: field_or_default(v, "locale")?,
        })
    }
}

impl FromJson for HostKey {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: field(v, "id")?,
            name: field(v, "name")?,
            origins: field(v, "origins")?,
            key_last4: field(v, "key_last4")?,
            created_at: field(v, "created_at")?,
            revoked_at: field_or_default(v, "revoked_at")?,
        })
    }
}

impl FromJson for CreatedHostKey {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            key: field(v, "key")?,
            host_key: field(v, "host_key")?,
        })
    }
}

impl FromJson for CreateUserResponse {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            user: field(v, "user")?,
            one_time_password: field(v, "one_time_password")?,
        })
    }
}

impl FromJson for MissingPermission {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            list: field(v, "list")?,
            permission: field(v, "permission")?,
        })
    }
}

impl FromJson for ApiError {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            error: field(v, "error")?,
            message: field(v, "message")?,
            missing: field_or_default(v, "missing")?,
            reason: field_or_default(v, "reason")?,
            retry_after: field_or_default(v, "retry_after")?,
        })
    }
}

impl FromJson for SyncState {
    fn from_json(value: &JsValue) -> Option<Self> {
        match value.as_string()?.as_str() {
            "idle" => Some(Self::Idle),
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

impl FromJson for SyncProgress {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            done: field(v, "done")?,
            total: field(v, "total")?,
        })
    }
}

impl FromJson for SyncError {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            code: field(v, "code")?,
            message: field(v, "message")?,
        })
    }
}

impl FromJson for TableSync {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            name: field(v, "name")?,
            rows: field(v, "rows")?,
            synced_at: field(v, "synced_at")?,
            progress: field(v, "progress")?,
            error: field(v, "error")?,
        })
    }
}

impl FromJson for SyncStatus {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            status: field(v, "status")?,
            tables: field(v, "tables")?,
        })
    }
}

/// What a preview shows of a synced row (a Stripe object): its id and, when it has one, `created`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSummary {
    /// The Stripe id.
    pub id: String,
    /// `created` (unix seconds), when the object has it.
    pub created: Option<i64>,
    /// Marked `"deleted": true`.
    pub deleted: bool,
}

impl FromJson for RowSummary {
    fn from_json(v: &JsValue) -> Option<Self> {
        if !v.is_object() {
            return None;
        }
        Some(Self {
            id: field(v, "id")?,
            // Lenient: a preview shows what it can.
            created: field::<Option<i64>>(v, "created").flatten(),
            deleted: get(v, "deleted").as_bool() == Some(true),
        })
    }
}

impl FromJson for TablePage<RowSummary> {
    fn from_json(v: &JsValue) -> Option<Self> {
        Some(Self {
            rows: field(v, "rows")?,
            has_more: field(v, "has_more")?,
        })
    }
}
