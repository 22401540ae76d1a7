//! The API described (SPEC §6.4): `GET /api/openapi.json` is OpenAPI 3.1, names every route the
//! router serves under `/api` with exactly the methods it serves, and real answers of the main
//! routes match the schemas it gives them (checked by `openapi/validate.mjs` with the
//! specification's own JSON Schema and Ajv, installed by `scripts/setup.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::sync::SyncOptions;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use support::sync::run;
use support::*;
use tower::ServiceExt;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The document as served, to anyone (no session).
async fn document(app: &TestApp) -> Value {
    let response = app.send("GET", "/api/openapi.json", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "served as JSON"
    );
    serde_json::from_str(&body_string(response).await).unwrap()
}

/// `(METHOD, path)` of every operation the document describes.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

/// The path patterns the app's router holds under `/api`. axum lists its routes only in the
/// router's `Debug` (`RouteId(3): "/api/users/{id}"`): read there, so a route added to the router
/// any way at all is found. A change of that format fails here loudly (too few routes found).
fn routed_api_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", app.router);
    let mut paths = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("): \"/api") {
        let start = at + 4;
        let end = start + rest[start..].find('"').unwrap();
        let path = &rest[start..end];
        // A nested router's fallback is routed as a private catch-all: not a route of ours.
        if !path.contains("__private__") && path.starts_with("/api/") {
            paths.insert(path.to_owned());
        }
        rest = &rest[end..];
    }
    assert!(
        paths.len() >= 20,
        "expected the API's routes in the router's Debug output, found {paths:?}"
    );
    paths
}

/// A concrete path for a pattern: an id nobody has, a real table.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{id}", "987654")
        .replace("{table}", "customers")
}

/// Which methods the router serves at `path`: every one it does not answer 405 (the answer for a
/// path routed with other methods, decided before any extractor runs). The requests come from our
/// origin with no session and no body, so they change nothing.
async fn served_methods(app: &TestApp, pattern: &str) -> Vec<String> {
    let mut served = Vec::new();
    for method in METHODS {
        let request = Request::builder()
            .method(method)
            .uri(concrete(pattern))
            .header("origin", PUBLIC_URL)
            .body(Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        if response.status() != StatusCode::METHOD_NOT_ALLOWED {
            served.push(method.to_owned());
        }
    }
    served
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_exactly_the_routes_served() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );

    let mut served = BTreeSet::new();
    for pattern in routed_api_paths(&app) {
        for method in served_methods(&app, &pattern).await {
            served.insert((method, pattern.clone()));
        }
    }
    let described = documented(&document);
    let undocumented: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in the document: {undocumented:?}\nin the document but not served: {unserved:?}"
    );
    assert!(served.len() >= 25, "{served:?}");
    // A method a path does not take gets the error body too.
    let (status, body) = to_json(app.send("DELETE", "/api/users", None, None).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "bad_request", "{body}");

    // Each operation names how it authenticates, from the three schemes the document defines.
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    for name in ["session", "host_key", "connect_session"] {
        assert!(schemes.contains_key(name), "{name} in {schemes:?}");
    }
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "connections_session");
    assert_eq!(schemes["host_key"]["scheme"], "bearer");
    for (method, path) in &described {
        let operation = &document["paths"][path][method.to_lowercase()];
        let security = operation["security"].as_array().unwrap_or_else(|| {
            panic!("{method} {path} says nothing of authentication: {operation}")
        });
        for requirement in security {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{method} {path}: {name}");
            }
        }
        // Every operation but the public ones documents its refusals with the error body.
        if !matches!(path.as_str(), "/api/meta" | "/api/openapi.json") {
            assert_eq!(
                operation["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ApiError",
                "{method} {path}"
            );
        }
    }
    let who = |method: &str, path: &str| -> Vec<String> {
        document["paths"][path][method]["security"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_object().unwrap().keys().cloned())
            .collect()
    };
    assert_eq!(who("post", "/api/connect-sessions"), ["host_key"]);
    assert_eq!(
        who("get", "/api/connections"),
        ["session", "connect_session"]
    );
    assert_eq!(who("get", "/api/users"), ["session"]);
    // What only an Admin may do says so (the session scheme's scope `admin`); any signed-in user
    // may read itself.
    assert_eq!(
        document["paths"]["/api/users"]["get"]["security"][0]["session"],
        json!(["admin"])
    );
    assert_eq!(
        document["paths"]["/api/auth/me"]["get"]["security"][0]["session"],
        json!([])
    );

    // The error body with its codes and reasons, from the shared types.
    let error = &document["components"]["schemas"]["ApiError"];
    let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(codes.as_array().unwrap().contains(&json!("invalid_key")));
    // A reason has a catch-all (`other`): any string, the known ones as examples.
    let reasons = &document["components"]["schemas"]["ErrorReason"];
    assert!(reasons.get("enum").is_none(), "{reasons}");
    assert!(reasons["examples"]
        .as_array()
        .unwrap()
        .contains(&json!("cross_site")));
    assert_eq!(error["required"], json!(["error", "message"]), "{error}");
}

/// One real answer: `(method, path pattern, status, content type, body)`.
struct Answer {
    method: &'static str,
    path: &'static str,
    status: u16,
    content_type: String,
    /// No body at all (a JSON `null` is a body).
    empty: bool,
    body: Value,
}

/// Sends a request and keeps its answer for the check.
async fn answer(
    app: &TestApp,
    method: &'static str,
    pattern: &'static str,
    uri: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let response = app.send(method, uri, cookie, body).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else if content_type == "application/json" {
        serde_json::from_slice(&bytes).unwrap()
    } else {
        Value::String(String::from_utf8(bytes.to_vec()).unwrap())
    };
    Answer {
        method,
        path: pattern,
        status,
        content_type,
        empty: bytes.is_empty(),
        body,
    }
}

/// A request of the check: method, path pattern, path sent, session cookie, JSON body.
type Ask<'a> = (
    &'static str,
    &'static str,
    String,
    Option<&'a str>,
    Option<Value>,
);

/// Sends the requests in order and keeps their answers.
async fn ask(app: &TestApp, asks: Vec<Ask<'_>>) -> Vec<Answer> {
    let mut answers = Vec::new();
    for (method, pattern, uri, cookie, body) in asks {
        answers.push(answer(app, method, pattern, &uri, cookie, body).await);
    }
    answers
}

/// Where `scripts/setup.sh` installs the npm tools.
fn tools_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools"))
}

#[tokio::test]
async fn real_answers_of_the_main_routes_match_their_schemas() {
    let app = spawn_app().await;
    let id = app.connect().await;
    run(&app, SyncOptions::default()).await;
    let connection = format!("/api/connections/{id}");
    let admin = Some(app.admin.as_str());
    let mut answers = ask(
        &app,
        vec![
            ("GET", "/api/health", "/api/health".into(), None, None),
            ("GET", "/api/meta", "/api/meta".into(), None, None),
            ("GET", "/api/auth/me", "/api/auth/me".into(), admin, None),
            ("GET", "/api/users", "/api/users".into(), admin, None),
            (
                "POST",
                "/api/users",
                "/api/users".into(),
                admin,
                Some(json!({"email": "new@bi.test", "display_name": "New", "role": "standard"})),
            ),
            (
                "POST",
                "/api/host-keys",
                "/api/host-keys".into(),
                admin,
                Some(json!({"name": "Host", "origins": ["https://host.example"]})),
            ),
            (
                "GET",
                "/api/host-keys",
                "/api/host-keys".into(),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections",
                "/api/connections".into(),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}",
                connection.clone(),
                admin,
                None,
            ),
            (
                "POST",
                "/api/connections/{id}/test",
                format!("{connection}/test"),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}/sync",
                format!("{connection}/sync"),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}/tables/{table}",
                format!("{connection}/tables/customers?limit=2"),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}/tables/{table}",
                format!("{connection}/tables/customers.csv"),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}/warehouse",
                format!("{connection}/warehouse"),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}/warehouse/{table}",
                format!("{connection}/warehouse/customers?limit=2"),
                admin,
                None,
            ),
            (
                "POST",
                "/api/connections/stripe/authorize",
                "/api/connections/stripe/authorize".into(),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/callback-notice",
                "/api/connections/callback-notice".into(),
                admin,
                None,
            ),
            (
                "GET",
                "/api/connections/{id}",
                "/api/connections/987654".into(),
                admin,
                None,
            ),
            ("GET", "/api/users", "/api/users".into(), None, None),
            (
                "POST",
                "/api/auth/sign-in",
                "/api/auth/sign-in".into(),
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": "wrong password!"})),
            ),
            (
                "POST",
                "/api/connections/stripe/key",
                "/api/connections/stripe/key".into(),
                admin,
                Some(json!({"key": "sk_test_full_access"})),
            ),
        ],
    )
    .await;
    // A host's backend opens a connect session; the widget lists with it.
    let key = answers[5].body["key"].as_str().unwrap().to_owned();
    let request = Request::builder()
        .method("POST")
        .uri("/api/connect-sessions")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"organization": {"id": "org_1", "name": "Org"},
                   "end_user": {"id": "u_1", "email": "u@host.example"}})
            .to_string(),
        ))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let token: Value = serde_json::from_str(&body_string(response).await).unwrap();
    answers.push(Answer {
        method: "POST",
        path: "/api/connect-sessions",
        status: 201,
        content_type: "application/json".into(),
        empty: false,
        body: token,
    });
    // Bodies over the limit, as JSON and as a raw body: the error body too (413).
    let huge = json!({"return_to": "x".repeat(70 * 1024)});
    answers.extend(
        ask(
            &app,
            vec![
                (
                    "POST",
                    "/api/users",
                    "/api/users".into(),
                    admin,
                    Some(huge.clone()),
                ),
                (
                    "POST",
                    "/api/connections/stripe/authorize",
                    "/api/connections/stripe/authorize".into(),
                    admin,
                    Some(huge),
                ),
            ],
        )
        .await,
    );
    for too_large in &answers[answers.len() - 2..] {
        assert_eq!(too_large.status, 413, "{}", too_large.path);
        assert_eq!(
            too_large.body["reason"], "body_too_large",
            "{}",
            too_large.path
        );
    }

    answers.extend(
        ask(
            &app,
            vec![
                (
                    "DELETE",
                    "/api/connections/{id}",
                    connection.clone(),
                    admin,
                    None,
                ),
                (
                    "POST",
                    "/api/auth/sign-out",
                    "/api/auth/sign-out".into(),
                    admin,
                    None,
                ),
            ],
        )
        .await,
    );

    // The routes gave what a working server gives (else the check would check refusals only).
    let statuses: Vec<_> = answers
        .iter()
        .map(|a| (a.method, a.path, a.status))
        .collect();
    for (i, expected) in [
        200, 200, 200, 200, 201, 201, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404,
        401, 401, 422, 201, 413, 413, 204, 204,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(answers[i].status, expected, "{:?}", statuses[i]);
    }
    assert_eq!(answers[12].content_type, "text/csv");

    let input = json!({
        "document": document(&app).await,
        "answers": answers.iter().map(|a| json!({
            "method": a.method, "path": a.path, "status": a.status,
            "content_type": a.content_type, "empty": a.empty, "body": a.body,
        })).collect::<Vec<_>>(),
    });
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("input.json");
    std::fs::write(&input_path, input.to_string()).unwrap();
    let tools = tools_dir();
    assert!(
        tools
            .join("node_modules/@seriousme/openapi-schema-validator")
            .exists(),
        "the OpenAPI validator is not installed in {}: run scripts/setup.sh",
        tools.display()
    );
    let output = std::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/openapi/validate.mjs"
        ))
        .arg(&tools)
        .arg(&input_path)
        .output()
        .expect("node (scripts/setup.sh)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains(&format!("{} answers checked, 0 failure(s)", answers.len())),
        "{report}"
    );
}
