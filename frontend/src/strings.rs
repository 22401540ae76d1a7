//! Every user-visible string of the front end, in one place so translating the UI is a change of one
//! module. The bold labels of the product's help page are kept word for word.

use shared::{
    AuditAction, AuditDetail, AuthKind, CallbackError, ConnectionStatus, MissingPermission,
    Problem, Removal,
};

pub const APP_NAME: &str = "Insights";
pub const SKIP_TO_CONTENT: &str = "Skip to content";
pub const MAIN_NAV: &str = "Main";
pub const ADMIN_MENU: &str = "Admin";
pub const CONNECTIONS: &str = "Connections";
pub const CONNECTIONS_INTRO: &str =
    "Connect the services your reports read from. Only administrators can add or change data sources.";
pub const DATA_SOURCES: &str = "Data Sources";
pub const ADD_DATA_SOURCE: &str = "Add a Data Source";
pub const LOADING: &str = "Loading…";
pub const EMPTY_TITLE: &str = "No data sources yet.";
pub const EMPTY_HINT: &str =
    "Click Add a Data Source, choose Stripe and sign in to your Stripe account to start reading your payment and invoice data.";
pub const LOAD_FAILED: &str = "The data sources could not be loaded.";
pub const RETRY: &str = "Try again";

pub const COL_NAME: &str = "Name";
pub const COL_CONNECTION: &str = "Connection";
pub const COL_STATUS: &str = "Status";
pub const COL_LAST_STARTED: &str = "Last Connection Started";
pub const COL_LAST_DURATION: &str = "Last Connection Duration";
pub const COL_ACTION: &str = "Action";
/// The column and filter naming a connection's organization (host products' connections).
pub const COL_ORGANIZATION: &str = "Organization";
pub const ALL_ORGANIZATIONS: &str = "All organizations";
/// The organization of the app's own connections.
pub const OWN_ORGANIZATION: &str = "This app";
pub const NEVER: &str = "Never";
pub const TEST_MODE: &str = "test mode";

pub const STRIPE: &str = "Stripe";
pub const CHOOSE_INTEGRATION: &str = "Choose the service to connect.";
pub const INTEGRATIONS: &str = "Integrations";
pub const BACK_TO_CONNECTIONS: &str = "Back to Connections";
pub const BACK_TO_INTEGRATIONS: &str = "Back to integrations";

pub const STRIPE_AUTHORIZATION: &str = "Stripe authorization";
pub const STRIPE_AUTH_WHAT: &str =
    "Connecting lets this product read your Stripe account's customers, charges, coupons, invoices, plans, subscriptions and events to build your reports.";
pub const STRIPE_AUTH_READ_ONLY: &str =
    "Access is read-only: nothing in your Stripe account can be changed from here, and you can remove the connection at any time.";
pub const STRIPE_AUTH_HOW: &str =
    "You will sign in on Stripe's own page; your Stripe password is never shared with us. Stripe then sends you back here.";
pub const DEMO_MODE_NOTE: &str =
    "Demo mode: no Stripe credentials are configured, so you will be sent to the local Stripe emulator instead of Stripe.";
pub const CONNECT_WITH_STRIPE: &str = "Connect with Stripe";
pub const REDIRECTING: &str = "Opening Stripe…";

pub const CONNECTION_SUCCESSFUL: &str = "Connection Successful!";
pub const DISMISS: &str = "Dismiss message";
pub const NOT_FOUND_TITLE: &str = "Page not found";
pub const NOT_FOUND_HINT: &str = "There is nothing at this address.";

pub const NETWORK_ERROR: &str =
    "The server could not be reached. Check your connection and try again.";
pub const UNEXPECTED_ERROR: &str = "Something went wrong on our side. Please try again.";

/// The banner for an OAuth round trip that did not connect anything.
pub fn callback_error(error: Option<CallbackError>) -> &'static str {
    match error {
        Some(CallbackError::AccessDenied) => {
            "Access to Stripe was not granted, so nothing was connected. Click Add a Data Source to try again."
        }
        Some(CallbackError::InvalidState) => {
            "This Stripe sign-in has expired or was already used, so nothing was connected. Please start again."
        }
        Some(CallbackError::InvalidRequest) => {
            "Stripe sent back an incomplete answer, so nothing was connected. Please start again."
        }
        Some(CallbackError::ExchangeRefused) => {
            "Stripe refused the authorization (it may have expired), so nothing was connected. Please try again."
        }
        Some(CallbackError::StripeUnavailable) => {
            "Stripe could not be reached or answered unexpectedly, so nothing was connected. Please try again in a moment."
        }
        Some(CallbackError::StripeError) => {
            "Stripe reported an error during authorization, so nothing was connected."
        }
        Some(CallbackError::SessionMismatch) => {
            "This Stripe sign-in was not started by you in this browser session, so nothing was connected. Please start again from Add a Data Source."
        }
        Some(CallbackError::StorageFailed) => {
            "The connection could not be saved, so nothing was connected. Please try again."
        }
        Some(CallbackError::AccountMismatch) => {
            "You signed in to a different Stripe account than the one connected, so nothing was changed."
        }
        Some(CallbackError::AccountElsewhere) => {
            "This Stripe account is already connected for another organization, so nothing was changed."
        }
        None => "Something went wrong while connecting, so nothing was connected. Please try again.",
    }
}

/// The text of a status (always shown beside its colour).
pub fn status(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Success => "Success",
        ConnectionStatus::NeedsReauth => "Needs re-authentication",
        ConnectionStatus::Error => "Error",
        ConnectionStatus::Testing => "Testing…",
    }
}

/// "just now", "5 minutes ago", "2 hours ago", "3 days ago".
pub fn time_ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=44 => "just now".into(),
        45..=89 => "a minute ago".into(),
        90..=3_599 => format!("{} minutes ago", (s + 30) / 60),
        3_600..=5_399 => "an hour ago".into(),
        5_400..=86_399 => format!("{} hours ago", (s + 1_800) / 3_600),
        86_400..=129_599 => "a day ago".into(),
        _ => format!("{} days ago", (s + 43_200) / 86_400),
    }
}

/// "less than a second", "3 seconds", "a minute", "4 minutes".
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => "less than a second".into(),
        1_000..=1_999 => "a second".into(),
        2_000..=59_999 => format!("{} seconds", ms / 1_000),
        60_000..=119_999 => "a minute".into(),
        _ => format!("{} minutes", ms / 60_000),
    }
}

pub const SIGN_IN_TITLE: &str = "Sign in";
pub const EMAIL: &str = "Email";
pub const PASSWORD: &str = "Password";
pub const SIGN_IN: &str = "Sign in";
pub const SIGNING_IN: &str = "Signing in…";
pub const SIGN_OUT: &str = "Sign out";
pub const USER_MENU: &str = "Account";
pub const SIGNED_IN_AS: &str = "Signed in as";
pub const REQUIRES_ADMIN: &str = "Requires Admin permissions";
pub const REQUIRES_ADMIN_HINT: &str =
    "Only administrators can open this page. Ask an Admin of your organization if you need access.";
pub const HOME_TITLE: &str = "Welcome";
pub const HOME_HINT: &str =
    "Your reports will appear here. Data sources are managed by administrators under Admin > Connections.";
pub const USERS: &str = "Users";
pub const USERS_INTRO: &str =
    "Add people, choose what they may do, and disable accounts that should no longer sign in.";
pub const COL_EMAIL: &str = "Email";
pub const COL_USER_NAME: &str = "Name";
pub const COL_ROLE: &str = "Role";
pub const COL_USER_STATUS: &str = "Status";
pub const COL_LAST_SIGN_IN: &str = "Last sign-in";
pub const ACTIVE: &str = "Active";
pub const DISABLED: &str = "Disabled";
pub const DISABLE: &str = "Disable";
pub const ENABLE: &str = "Enable";
pub const ADD_USER: &str = "Add user";
pub const DISPLAY_NAME: &str = "Name";
pub const ROLE: &str = "Role";
pub const PASSWORD_OPTIONAL: &str = "Password (optional)";
pub const PASSWORD_OPTIONAL_HINT: &str =
    "At least 12 characters. Leave empty to generate a one-time password.";
pub const USER_ADDED: &str = "User added.";
pub const USER_UPDATED: &str = "User updated.";

/// The name of a role.
pub fn role(role: shared::Role) -> &'static str {
    match role {
        shared::Role::Admin => "Admin",
        shared::Role::Standard => "Standard",
        shared::Role::ReadOnly => "Read-Only",
    }
}

/// The banner after adding a user with a generated password.
pub fn one_time_password(email: &str, password: &str) -> String {
    format!(
        "User added. One-time password for {email}: {password} — share it securely; it will not be shown again."
    )
}

/// Accessible name of a per-row control ("Role for ada@example.com").
pub fn for_user(what: &str, email: &str) -> String {
    format!("{what} {email}")
}

pub const TEST_CONNECTION: &str = "Test connection";
pub const DETAILS: &str = "Details";
pub const DELETE: &str = "Delete";
pub const CANCEL: &str = "Cancel";
pub const REMOVE_HERE_ONLY: &str = "Remove here only";
pub const REAUTH_HINT: &str = "needs re-authentication: activate to connect again";
pub const HISTORY: &str = "History";
pub const COL_WHEN: &str = "When";
pub const COL_WHO: &str = "Who";
pub const COL_WHAT: &str = "What";
pub const COL_DETAILS: &str = "Details";
pub const ACCOUNT: &str = "Stripe account";
pub const MODE: &str = "Mode";
pub const LIVE_MODE: &str = "live";
pub const LAST_ERROR: &str = "Last problem";
pub const CONNECTED_WITH: &str = "Connected with";

/// A restricted key, by the only part ever shown again.
pub fn key_ending(last4: &str) -> String {
    format!("rk_…{last4}")
}

/// The delete confirmation's title.
pub fn delete_title(name: &str) -> String {
    format!("Delete {name}?")
}

/// The delete confirmation's explanation.
pub fn delete_body(name: &str, account: &str) -> String {
    format!(
        "This disconnects {name} ({account}) at Stripe and removes its stored authorization. Its data will no longer be read."
    )
}

/// After a deletion.
pub fn deleted(name: &str) -> String {
    format!("{name} was deleted.")
}

/// After a test.
pub fn tested(name: &str, status: shared::ConnectionStatus) -> String {
    format!("Connection test for {name}: {}.", self::status(status))
}

/// Accessible name of a per-row action ("Delete Acme Corp").
pub fn action_for(action: &str, name: &str) -> String {
    format!("{action} {name}")
}

/// A re-authentication signed in to the wrong Stripe account.
pub fn account_mismatch(expected: &str, other: &str) -> String {
    format!(
        "You signed in to Stripe as {other}, but this connection is for {expected}. Nothing was changed: sign in to the {expected} account to re-authenticate it."
    )
}

/// Why a connection is unhealthy, from the server's code.
pub fn problem(problem: Problem) -> &'static str {
    match problem {
        Problem::Refused => {
            "Stripe refused the stored authorization (revoked, expired or deleted). Click the name to connect again."
        }
        Problem::Revoked => "Access was revoked in Stripe. Click the name to connect again.",
        Problem::OtherAccount => {
            "The stored authorization reads a different Stripe account. Connect again."
        }
        Problem::RefreshRefused => {
            "Stripe refused to renew the authorization (the app may have been uninstalled). Click the name to connect again."
        }
        Problem::MissingPermission => {
            "The restricted key can no longer read everything the product needs. Click the name to paste a new key."
        }
        Problem::Unreachable => {
            "Stripe could not be reached or did not answer in time. It will be retried."
        }
        Problem::BadAnswer => {
            "Stripe answered with an error or something unreadable. It will be retried."
        }
        Problem::Unknown => "Something went wrong with this connection.",
    }
}

/// How a connection authenticates.
pub fn auth_kind(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Connect => "Stripe Connect",
        AuthKind::Apps => "Stripe App",
        AuthKind::RestrictedKey => "Restricted API key",
    }
}

/// An audit action.
pub fn audit_action(action: AuditAction) -> &'static str {
    match action {
        AuditAction::Connected => "Connected",
        AuditAction::Reauthenticated => "Re-authenticated",
        AuditAction::Tested => "Tested",
        AuditAction::Deleted => "Deleted",
        AuditAction::AccessRevoked => "Access revoked",
        AuditAction::TokenRefreshed => "Authorization renewed",
        AuditAction::RefreshRefused => "Renewal refused",
        AuditAction::Other => "Other",
    }
}

/// How a deletion ended at Stripe.
pub fn removal(removal: Removal) -> &'static str {
    match removal {
        Removal::Deauthorized => "access revoked at Stripe",
        Removal::AlreadyDisconnected => "Stripe had already disconnected it",
        Removal::LocalOnly => "removed here only; Stripe could not be told",
        Removal::CredentialDropped => "credential removed here",
    }
}

/// The facts of an audit line, in words.
pub fn audit_detail(d: &AuditDetail) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(kind) = d.auth_kind {
        parts.push(auth_kind(kind).into());
    }
    if let Some(s) = d.status {
        parts.push(status(s).into());
    }
    if let Some(p) = d.problem {
        parts.push(problem(p).into());
    }
    if let Some(ms) = d.duration_ms {
        parts.push(format!("in {}", duration(ms)));
    }
    if let Some(r) = d.removal {
        parts.push(removal(r).into());
    }
    if let Some(legacy) = &d.legacy {
        parts.push(legacy.clone());
    }
    parts.join(" · ")
}

pub const USE_RESTRICTED_KEY: &str = "Use a restricted API key";
pub const RESTRICTED_KEY_INTRO: &str =
    "Instead of signing in, you can create a restricted key in Stripe with read access to exactly what reports need, and paste it here. Grant Read on:";
pub const RESTRICTED_KEY_PERMISSIONS: [&str; 7] = [
    "Customers",
    "Charges",
    "Coupons",
    "Invoices",
    "Products (plans)",
    "Subscriptions",
    "Events",
];
pub const RESTRICTED_KEY_ACCOUNT_HINT: &str =
    "Read on Account details too lets the connection show your account's name.";
pub const CREATE_KEY_IN_STRIPE: &str = "Create a restricted key in Stripe (opens in a new tab)";
pub const RESTRICTED_API_KEY: &str = "Restricted API key";
pub const RESTRICTED_KEY_FIELD_HINT: &str =
    "Starts with rk_live_ or rk_test_. It is stored encrypted and never shown again, except its last four characters.";
pub const CONNECT_WITH_KEY: &str = "Connect with key";
pub const CONNECTION_NAME: &str = "Connection name (optional)";
pub const CONNECTION_NAME_HINT: &str =
    "Used when the key may not read your account's name (no Read on Account details).";
pub const CHECKING_KEY: &str = "Checking the key with Stripe…";
pub const REPLACING_KEY_FOR: &str = "Paste a new restricted key for this account:";
pub const FULL_ACCESS_KEY: &str =
    "This is a secret key (sk_…): it has full write access to your Stripe account, which a reporting tool must never hold. Create a restricted key with read permissions instead.";
pub const INVALID_KEY: &str =
    "Stripe does not accept this key. Check that you copied all of it, and that it starts with rk_live_ or rk_test_ and was not deleted or rolled.";
pub const KEY_OTHER_ACCOUNT: &str =
    "This key belongs to another Stripe account than this connection's. Nothing was changed.";

/// A restricted key that cannot read some lists: each list and the permission to add.
pub fn missing_permissions(missing: &[MissingPermission]) -> String {
    let lists: Vec<String> = missing
        .iter()
        .map(|m| format!("{} ({})", m.list, m.permission))
        .collect();
    format!(
        "This key cannot read {}. Add Read permission for them to the key in Stripe, or create a new key, then try again.",
        lists.join(", ")
    )
}

/// After deleting a connection whose flow has no revocation: where to finish in Stripe.
pub fn finish_in_stripe(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::RestrictedKey => {
            "Its key was removed here; to end access completely, delete the key in Stripe (Developers > API keys)."
        }
        _ => "Its authorization was removed here; to end access completely, uninstall the app in Stripe (Settings > Installed apps).",
    }
}

pub const DATA: &str = "Data";
pub const FORCE_UPDATE: &str = "Force an update";
pub const COL_TABLE: &str = "Table";
pub const COL_ROWS: &str = "Rows";
pub const COL_LAST_SYNCED: &str = "Last synced";
pub const COL_PROGRESS: &str = "Progress";
pub const PREVIEW: &str = "Preview";
/// The link that downloads a table as CSV.
pub const CSV: &str = "CSV";

/// The accessible name of a table's CSV download.
pub fn csv_of(name: &str) -> String {
    format!("Download {name} as CSV")
}
pub const COL_ID: &str = "ID";
pub const COL_CREATED: &str = "Created";
pub const DELETED: &str = "deleted";
pub const NO_ROWS: &str = "No rows yet.";
pub const MORE_ROWS: &str = "More rows follow.";
pub const SYNC_LOAD_FAILED: &str = "The data's state could not be loaded.";

/// Where the sync stands, as a sentence.
pub fn sync_state(state: shared::SyncState) -> &'static str {
    match state {
        shared::SyncState::Idle => {
            "Up to date. Updates run on their own; Force an update fetches the latest now."
        }
        shared::SyncState::Queued => "An update is waiting to start…",
        shared::SyncState::Running => "Updating…",
        shared::SyncState::Error => "The last update failed. See the tables below.",
    }
}

/// A table's sync error in plain words: the UI's own sentence for known codes, else the server's.
pub fn sync_error(e: &shared::SyncError) -> String {
    match e.code.as_str() {
        "unauthorized" | "forbidden" | "needs_reauth" => {
            "Stripe refused access. Re-authenticate this connection, then force an update.".into()
        }
        "stripe_unavailable" => {
            "Stripe could not be reached. The update will be tried again shortly.".into()
        }
        _ => e.message.clone(),
    }
}

/// "Progress of customers".
pub fn progress_of(table: &str) -> String {
    format!("Progress of {table}")
}

/// "12 of 40".
pub fn progress_text(done: i64, total: i64) -> String {
    format!("{done} of {total}")
}

/// "First rows of customers".
pub fn preview_title(table: &str) -> String {
    format!("First rows of {table}")
}

// Admin > Host keys.
pub const HOST_KEYS: &str = "Host keys";
pub const HOST_KEYS_INTRO: &str = "Products that embed the Connections widget in their own admin console. Each has a key its backend keeps secret and the origins allowed to embed the widget.";
pub const NO_HOST_KEYS: &str = "No host product embeds the widget yet.";
pub const ADD_HOST_KEY: &str = "Add a host key";
pub const HOST_PRODUCT: &str = "Host product";
pub const ALLOWED_ORIGINS: &str = "Allowed origins";
pub const ALLOWED_ORIGINS_HINT: &str = "One per line, like https://admin.example.com";
pub const COL_ORIGINS: &str = "Origins";
pub const COL_KEY: &str = "Key";
pub const REVOKE: &str = "Revoke";
pub const REVOKED: &str = "Revoked";
pub const HOST_KEY_REVOKED: &str = "The host key was revoked: its widget sessions ended.";

/// The banner after a host key was made: the key, shown this once.
pub fn host_key_created(name: &str, key: &str) -> String {
    format!("Host key for {name}: {key} — copy it now into the host's backend; it will not be shown again.")
}

// The embeddable widget (`<stripe-connections>`).
pub const POPUP_BLOCKED: &str =
    "Your browser blocked the Stripe window. Allow pop-ups for this page and try again, or continue in this window.";
pub const POPUP_CLOSED: &str =
    "The Stripe window was closed before the connection finished. Try again, or continue in this window.";
pub const CONTINUE_IN_THIS_WINDOW: &str = "Continue in this window";
pub const STRIPE_WINDOW_OPEN: &str = "Finish connecting in the Stripe window.";
pub const CLOSE: &str = "Close";
