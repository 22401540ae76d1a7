//! Who is signed in, shared through context. The server is the authority: this only mirrors
//! `GET /api/auth/me` so the UI can hide what a role may not use.

use leptos::prelude::*;
use shared::{Role, User};

/// Path of the sign-in page.
pub const SIGN_IN_PATH: &str = "/sign-in";

/// The signed-in user, once known.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    /// The user, or `None` when signed out.
    pub user: RwSignal<Option<User>>,
    /// Whether the server has been asked yet.
    pub checked: RwSignal<bool>,
}

impl Auth {
    /// Whether the signed-in user is an Admin (tracked).
    pub fn is_admin(&self) -> bool {
        self.user
            .with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin))
    }
}

/// Puts an unknown user in context.
pub fn provide_auth() -> Auth {
    let auth = Auth {
        user: RwSignal::new(None),
        checked: RwSignal::new(false),
    };
    provide_context(auth);
    auth
}

/// The user in context (creating an empty one if the host did not).
pub fn use_auth() -> Auth {
    use_context::<Auth>().unwrap_or_else(provide_auth)
}

/// Where to go after signing in: only a path on this site (no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}
