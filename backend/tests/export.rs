//! `GET /api/connections/{id}/tables/{table}.csv`: every row, one column per top-level field, deleted
//! rows flagged, formulas defused; Admin only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use backend::emulator::ChangeKind;
use backend::sync::SyncOptions;
use serde_json::json;
use support::sync::*;
use support::*;

#[tokio::test]
async fn a_table_exports_as_csv_with_a_column_per_field() {
    let app = spawn_apps_app().await;
    let id = app.connect_app().await;
    run(&app, SyncOptions::default()).await;
    // A customer whose name a spreadsheet would run, and one deleted at Stripe.
    let customers = table_objects(&app, id, "customers", 1000).await;
    let (named, gone) = (
        customers[0]["id"].as_str().unwrap(),
        customers[1]["id"].as_str().unwrap(),
    );
    let emulator = &app.emulator;
    emulator
        .change_object(
            "acct_1AcmeTest",
            "customers",
            named,
            ChangeKind::Update,
            json!({"name": "=1+1", "metadata": {"tier": "gold"}}),
        )
        .unwrap();
    emulator
        .change_object(
            "acct_1AcmeTest",
            "customers",
            gone,
            ChangeKind::Delete,
            json!({}),
        )
        .unwrap();
    app.json("POST", &format!("/api/connections/{id}/sync"))
        .await;
    run(&app, SyncOptions::default()).await;

    let response = app
        .request(
            "GET",
            &format!("/api/connections/{id}/tables/customers.csv"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let body = body_string(response).await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header.first().map(String::as_str), Some("id"));
    assert_eq!(header.last().map(String::as_str), Some("deleted"));
    for field in ["email", "name", "created", "metadata"] {
        assert!(header.iter().any(|h| h == field), "{header:?}");
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let stored = table_objects(&app, id, "customers", 1000).await;
    assert_eq!(records.len(), stored.len(), "every row");
    for (record, object) in records.iter().zip(&stored) {
        assert_eq!(&record[0], object["id"].as_str().unwrap(), "id order");
        assert_eq!(record[col("created")], object["created"].to_string());
    }
    let row = |id: &str| records.iter().find(|r| &r[0] == id).unwrap();
    assert_eq!(&row(named)[col("name")], "'=1+1", "a formula is defused");
    assert_eq!(&row(named)[col("metadata")], r#"{"tier":"gold"}"#);
    assert_eq!(&row(gone)[col("deleted")], "true");
    assert_eq!(&row(named)[col("deleted")], "");

    // Admin only, known tables only.
    let standard = app.sign_in(STANDARD_EMAIL, USER_PASSWORD).await;
    let uri = format!("/api/connections/{id}/tables/customers.csv");
    let response = app.send("GET", &uri, Some(&standard), None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = app
        .json("GET", &format!("/api/connections/{id}/tables/payouts.csv"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .json("GET", "/api/connections/999/tables/customers.csv")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
