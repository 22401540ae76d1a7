//! The ids that travel through services and the store, each its own type: a function that takes a
//! connection and a job cannot be handed them the other way round. Numbers on the wire and in the
//! database (`#[serde(transparent)]`, `#[sqlx(transparent)]`).

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// A connection (a row of `connections`; `Connection.id` on the wire).
    ConnectionId
);
id_type!(
    /// A sync job (a row of `sync_jobs`).
    JobId
);
id_type!(
    /// An organization (a row of `organizations`; the app's own is [`OrganizationId::DEFAULT`]).
    OrganizationId
);
id_type!(
    /// A user of the app (a row of `users`).
    UserId
);
id_type!(
    /// A host product's key (a row of `host_keys`).
    HostKeyId
);
