//! Every user-visible string of the front end, in one place so translating the UI is a change of one
//! module. The bold labels of the product's help page are kept word for word.

use shared::{CallbackError, ConnectionStatus};

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
