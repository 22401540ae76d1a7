//! The widget's static files (`/widget.js`, `/widget/*` in `dist/`) are readable by any origin —
//! host pages load them cross-origin — with the wasm as `application/wasm`; nothing else served
//! gains that header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use support::*;
use tower::ServiceExt;

const HOST: &str = "https://host.example";

async fn get(app: &TestApp, uri: &str) -> Response<Body> {
    let request = Request::builder()
        .uri(uri)
        .header("origin", HOST)
        .body(Body::empty())
        .unwrap();
    app.router.clone().oneshot(request).await.unwrap()
}

fn allow_origin(response: &Response<Body>) -> Option<&str> {
    response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap())
}

fn content_type(response: &Response<Body>) -> &str {
    response.headers()[header::CONTENT_TYPE].to_str().unwrap()
}

#[tokio::test]
async fn widget_files_are_public_to_every_origin_and_nothing_else_is() {
    let app = spawn_app().await;
    let dist = app.dir.path();
    std::fs::create_dir_all(dist.join("widget")).unwrap();
    std::fs::write(dist.join("widget.js"), "/* loader */").unwrap();
    std::fs::write(dist.join("widget/stripe_connections.js"), "export {};").unwrap();
    std::fs::write(
        dist.join("widget/stripe_connections_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(dist.join("widget/widget.css"), ":host{}").unwrap();
    std::fs::write(dist.join("app.js"), "/* the SPA */").unwrap();

    let loader = get(&app, "/widget.js").await;
    assert_eq!(loader.status(), StatusCode::OK);
    assert_eq!(allow_origin(&loader), Some("*"));
    assert!(content_type(&loader).contains("javascript"));

    let wasm = get(&app, "/widget/stripe_connections_bg.wasm").await;
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(content_type(&wasm), "application/wasm");
    assert_eq!(allow_origin(&wasm), Some("*"));
    // No credentials, ever.
    assert!(wasm
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .is_none());

    for uri in ["/widget/stripe_connections.js", "/widget/widget.css"] {
        let response = get(&app, uri).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(allow_origin(&response), Some("*"), "{uri}");
    }

    // The SPA's own files, its index.html fallback (also for a missing widget file), the widget's
    // routes and the API do not get it.
    for uri in [
        "/app.js",
        "/",
        "/admin/connections",
        "/widget/missing.js",
        "/widget/callback.js",
        "/widget/authorize?flow=nope",
        "/api/meta",
    ] {
        let response = get(&app, uri).await;
        assert_ne!(allow_origin(&response), Some("*"), "{uri}");
    }
}
