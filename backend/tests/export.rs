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
        assert_eq!(
            unix(&record[col("created")]),
            object["created"].as_i64().unwrap(),
            "a time in ISO 8601, UTC"
        );
    }
    let row = |id: &str| records.iter().find(|r| &r[0] == id).unwrap();
    assert_eq!(&row(named)[col("name")], "'=1+1", "a formula is defused");
    let metadata: serde_json::Value = serde_json::from_str(&row(named)[col("metadata")]).unwrap();
    assert_eq!(metadata, json!({"tier": "gold"}));
    assert_eq!(&row(gone)[col("deleted")], "true");
    assert_eq!(&row(named)[col("deleted")], "false");

    // The columns the Data Warehouse Manager tracks, no more; the child tables too.
    let schema = support::warehouse::warehouse(&app, id).await["schema"].clone();
    let (status, _) = support::warehouse::put(
        &app,
        id,
        json!({"schema": schema, "tables": [{"name": "customers", "columns": [
            {"name": "email", "tracked": false}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let header = |body: String| -> Vec<String> {
        body.lines()
            .next()
            .unwrap()
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let uri = format!("/api/connections/{id}/tables/customers.csv");
    let without = header(body_string(app.request("GET", &uri).await).await);
    assert!(!without.contains(&"email".to_owned()), "{without:?}");
    assert!(without.contains(&"name".to_owned()));
    let uri = format!("/api/connections/{id}/tables/invoice_lines.csv");
    let response = app.request("GET", &uri).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_string(response).await;
    assert!(
        header(body.clone()).contains(&"invoice_id".to_owned()),
        "{body}"
    );
    assert!(body.lines().count() > 1, "{body}");

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

/// An ISO 8601 UTC time (`2024-01-31T12:00:00Z`) as Unix seconds.
fn unix(iso: &str) -> i64 {
    assert!(
        iso.len() == 20 && iso.ends_with('Z') && &iso[10..11] == "T",
        "{iso}"
    );
    let n = |r: std::ops::Range<usize>| iso[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3_600 + n(14..16) * 60 + n(17..19)
}
