//! A PostgreSQL database of its own for a test, on the server `TEST_POSTGRES_URL` names
//! (`scripts/test.sh` and `source scripts/postgres.sh` start one and export it).

use sqlx::{Connection, PgConnection};

/// A fresh PostgreSQL database on the `TEST_POSTGRES_URL` server, dropped with this value.
pub struct TestDb {
    server: String,
    name: String,
    /// The database's URL, for `DATABASE_URL`.
    pub url: String,
}

impl TestDb {
    /// Makes `e2e_<label>_…`; fails, saying how to get a server, without `TEST_POSTGRES_URL`.
    pub async fn create(label: &str) -> Self {
        let server = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "TEST_POSTGRES_URL is not set: the multi-instance tests need a PostgreSQL server. \
                 Run scripts/test.sh, or `source scripts/postgres.sh` first"
            )
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("e2e_{label}_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("connecting to TEST_POSTGRES_URL={server}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        // The same server and credentials, the new database as the path.
        let (base, query) = server.split_once('?').unwrap_or((&server, ""));
        let host_start = base.find("://").expect("a URL") + 3;
        let path_start = base[host_start..]
            .find('/')
            .map_or(base.len(), |i| host_start + i);
        let mut url = format!("{}/{name}", &base[..path_start]);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        Self { server, name, url }
    }

    /// A connection to the database, to look at what the instances stored.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // On its own runtime: a test's runtime may be gone (or panicking) by now.
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&server).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(&drop).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}
