//! A PostgreSQL database per directory, for the tests and benchmarks that run on either database
//! (shared by `tests/support` and `benches/common`).

use std::path::Path;

/// The database on the server at `server` (a URL whose user may create databases) named
/// `{prefix}_` and a hash of `dir` — created when missing, so a restart over the same `dir` finds
/// it again; its URL.
pub async fn database_for(server: &str, prefix: &str, dir: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let name = format!("{prefix}_{}", &hex::encode(digest)[..16]);
    let admin = sqlx::PgPool::connect(server)
        .await
        .unwrap_or_else(|e| panic!("connecting to {server}: {e}"));
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&admin)
        .await
        .expect("pg_database");
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .expect("CREATE DATABASE");
    }
    admin.close().await;
    let mut url = url::Url::parse(server).expect("a server URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}
