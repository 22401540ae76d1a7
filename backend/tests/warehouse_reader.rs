//! `backend create-reader`: a PostgreSQL login a BI tool reads the warehouse with — its
//! organization's schemas (views made later too), never the product's tables, the typed tables
//! behind the views, or another organization's schema. On SQLite: a clear refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::args;
use backend::ids::HostKeyId;
use backend::services::warehouse::{create_reader, ReaderError};
use backend::store::{self, Dialect};
use backend::sync::SyncOptions;
use serde_json::json;
use support::sync::*;
use support::warehouse::*;
use support::*;

/// A role name no other test (or earlier run on the same server) has taken: roles are the
/// server's, not a database's.
fn role(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

/// Whether the login at `url` may run `sql` (the error's text when not).
async fn reads(url: &str, sql: &str) -> Result<i64, String> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let answer = sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string());
    pool.close().await;
    answer
}

#[tokio::test]
async fn a_reader_reads_its_organizations_schemas_and_nothing_else() {
    let app = spawn_apps_app().await;
    let now = app.state.clock.now();
    let url = app.config.database_url.clone();
    let pool = &app.state.pool;
    if pool.dialect() == Dialect::Sqlite {
        let refused = create_reader(pool, &url, "bi", None, now).await;
        assert!(
            matches!(refused, Err(ReaderError::NotPostgres)),
            "{refused:?}"
        );
        assert!(refused.unwrap_err().to_string().contains("README"));
        return;
    }
    // Acme in the product's own organization; Globex in a host product's.
    let acme = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    let host = backend::services::hosts::create_key(
        pool,
        now,
        &shared::NewHostKey {
            name: "Host".into(),
            origins: vec!["https://host.example".into()],
        },
    )
    .await
    .unwrap();
    let org =
        store::upsert_organization(pool, HostKeyId(host.host_key.id), "org_42", "Org 42", now)
            .await
            .unwrap();
    let key = app
        .emulator
        .create_restricted_key(
            "acct_1GlobexTest",
            &backend::emulator::RESTRICTED_KEY_PERMISSIONS,
        )
        .unwrap();
    let globex = store_key_connection(&app, "acct_1GlobexTest", "Globex Test", &key, false).await;
    pool.execute(
        "UPDATE connections SET organization_id = $1 WHERE id = $2",
        args![org, globex],
    )
    .await
    .unwrap();
    backend::sync::jobs::enqueue(&app.state, globex).await;
    run(&app, SyncOptions::default()).await;
    let acme_schema = warehouse(&app, acme).await["schema"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex_schema = warehouse(&app, globex.0).await["schema"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(globex_schema, "stripe_globex_test");
    let count =
        |schema: &str, table: &str| format!("SELECT COUNT(*) FROM \"{schema}\".\"{table}\"");
    let customers: i64 = pool
        .scalar_one(&count(&globex_schema, "customers"), args![])
        .await
        .unwrap();
    assert!(customers > 0);

    // A reader of org_42 only.
    let name = role("bi_org");
    let reader = create_reader(pool, &url, &name, Some("org_42"), now)
        .await
        .unwrap();
    assert!(reader.starts_with("postgres://"), "{reader}");
    assert!(reader.contains(&format!("{name}:")));
    assert_eq!(
        reads(&reader, &count(&globex_schema, "customers")).await,
        Ok(customers)
    );
    assert!(reads(&reader, &count(&globex_schema, "invoice_lines"))
        .await
        .is_ok());
    for refused in [
        count(&acme_schema, "customers"),
        "SELECT COUNT(*) FROM users".to_owned(),
        "SELECT COUNT(*) FROM connections".to_owned(),
        "SELECT COUNT(*) FROM host_keys".to_owned(),
        "SELECT COUNT(*) FROM sessions".to_owned(),
        "SELECT COUNT(*) FROM stripe_customers".to_owned(),
        format!("SELECT COUNT(*) FROM warehouse_c{}_customers", globex.0),
    ] {
        let answer = reads(&reader, &refused).await;
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.contains("permission denied")),
            "{refused}: {answer:?}"
        );
    }
    // Views made after it (a column tracked again, the schema renamed) are its too.
    for tracked in [false, true] {
        let (status, body) = put(
            &app,
            globex.0,
            json!({"schema": "analytics_globex", "tables": [{"name": "customers",
                "columns": [{"name": "email", "tracked": tracked}]}]}),
        )
        .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    }
    assert_eq!(
        reads(
            &reader,
            "SELECT COUNT(email) FROM analytics_globex.customers"
        )
        .await,
        Ok(customers)
    );

    // A reader of every organization reads both.
    let all = create_reader(pool, &url, &role("bi_all"), None, now)
        .await
        .unwrap();
    assert!(reads(&all, &count(&acme_schema, "charges")).await.is_ok());
    assert!(reads(&all, &count("analytics_globex", "charges"))
        .await
        .is_ok());
    assert!(reads(&all, "SELECT COUNT(*) FROM users").await.is_err());

    // Refusals, and nothing made by them.
    assert!(matches!(
        create_reader(pool, &url, &name, None, now).await,
        Err(ReaderError::RoleExists(_))
    ));
    assert!(matches!(
        create_reader(pool, &url, "Bad-Name", None, now).await,
        Err(ReaderError::InvalidName)
    ));
    assert!(matches!(
        create_reader(pool, &url, &role("bi_x"), Some("org_nobody"), now).await,
        Err(ReaderError::UnknownOrganization(_))
    ));
}
