//! The front end reads API answers with `JSON.parse` and hand-written readers (`frontend::json`),
//! not serde: these tests hold them to what serde reads, on serde's own output and on edge cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;

use frontend::json::{self, FromJson};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// `text` reads the same with the front end's reader as with serde_json (both fail, or both give
/// the same value).
fn same_as_serde<T: FromJson + DeserializeOwned + PartialEq + Debug>(text: &str) -> Option<T> {
    let ours = json::parse::<T>(text);
    let serde = serde_json::from_str::<T>(if text.is_empty() { "null" } else { text }).ok();
    assert_eq!(ours, serde, "{text}");
    ours
}

/// What the backend writes for `value` reads back as `value`.
fn round_trip<T: FromJson + DeserializeOwned + Serialize + PartialEq + Debug>(value: T) {
    let text = serde_json::to_string(&value).unwrap();
    assert_eq!(same_as_serde::<T>(&text), Some(value), "{text}");
}

fn acme() -> Connection {
    Connection {
        id: 7,
        name: "Acme \"Corp\" ☃ \u{1F600}".into(),
        kind: IntegrationKind::Stripe,
        account_id: "acct_1".into(),
        livemode: false,
        status: ConnectionStatus::NeedsReauth,
        last_started_at: Some(1_700_000_000),
        last_duration_ms: Some(-3),
        created_at: 1_600_000_000,
        last_error: Some(Problem::MissingPermission),
        auth_kind: AuthKind::RestrictedKey,
        key_last4: Some("abcd".into()),
        organization: Some("Globex \"Org\"".into()),
    }
}

fn ada() -> User {
    User {
        id: 1,
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        role: Role::ReadOnly,
        disabled: true,
        created_at: 5,
        last_sign_in_at: None,
        locale: None,
    }
}

#[wasm_bindgen_test]
fn every_answer_type_reads_what_serde_writes() {
    round_trip(acme());
    round_trip(Connection {
        last_started_at: None,
        last_duration_ms: None,
        last_error: None,
        key_last4: None,
        organization: None,
        auth_kind: AuthKind::Connect,
        status: ConnectionStatus::Success,
        livemode: true,
        ..acme()
    });
    round_trip(vec![acme(), acme()]);
    let host_key = shared::HostKey {
        id: 3,
        name: "Acme BI".into(),
        origins: vec!["https://a.example".into(), "http://127.0.0.1:8090".into()],
        key_last4: "x9Z_".into(),
        created_at: 9,
        revoked_at: Some(10),
    };
    round_trip(vec![
        host_key.clone(),
        shared::HostKey {
            revoked_at: None,
            ..host_key.clone()
        },
    ]);
    round_trip(shared::CreatedHostKey {
        key: "hk_secret".into(),
        host_key,
    });
    round_trip(Vec::<Connection>::new());
    round_trip(ServerInfo {
        demo_mode: true,
        restricted_key_url: "https://dashboard.stripe.com/apikeys/create".into(),
    });
    round_trip(AuthorizeResponse {
        authorize_url: "https://connect.stripe.com/oauth/authorize?a=b&c=d".into(),
        flow_proof: None,
    });
    round_trip(AuthorizeResponse {
        authorize_url: "https://connections.example/widget/authorize?flow=f".into(),
        flow_proof: Some("p_roof".into()),
    });
    round_trip(ada());
    round_trip(vec![
        ada(),
        User {
            last_sign_in_at: Some(9),
            locale: Some(shared::Locale::It),
            role: Role::Admin,
            ..ada()
        },
    ]);
    round_trip(CreateUserResponse {
        user: ada(),
        one_time_password: Some("pw".into()),
    });
    round_trip(CreateUserResponse {
        user: ada(),
        one_time_password: None,
    });
    let details = [
        AuditDetail::default(),
        AuditDetail {
            auth_kind: Some(AuthKind::Apps),
            status: Some(ConnectionStatus::Error),
            problem: Some(Problem::Unreachable),
            duration_ms: Some(1_234),
            removal: Some(Removal::LocalOnly),
            legacy: Some("Connected by ada".into()),
        },
    ];
    round_trip(ConnectionDetail {
        connection: acme(),
        audit: details
            .into_iter()
            .enumerate()
            .map(|(i, detail)| AuditEntry {
                actor: "system".into(),
                action: [AuditAction::TokenRefreshed, AuditAction::Deleted][i],
                detail,
                created_at: i as i64,
            })
            .collect(),
    });
    round_trip(Some(DeleteOutcome {
        removal: Removal::CredentialDropped,
        auth_kind: AuthKind::RestrictedKey,
    }));
    round_trip(Some(CallbackNotice {
        connection_id: 3,
        expected: "Acme".into(),
        other: "Globex".into(),
    }));
    round_trip(ApiError {
        error: ErrorCode::MissingPermissions,
        message: "x".into(),
        missing: vec![MissingPermission {
            list: "coupons".into(),
            permission: "rak_coupon_read".into(),
        }],
        reason: None,
        retry_after: None,
    });
    round_trip(ApiError {
        error: ErrorCode::UpstreamFailed,
        message: "Stripe is unreachable.".into(),
        missing: Vec::new(),
        reason: None,
        retry_after: None,
    });
    round_trip(ApiError {
        error: ErrorCode::Conflict,
        message: "x".into(),
        missing: Vec::new(),
        reason: Some(shared::ErrorReason::LastAdmin),
        retry_after: None,
    });
    round_trip(ApiError {
        error: ErrorCode::RateLimited,
        message: "x".into(),
        missing: Vec::new(),
        reason: None,
        retry_after: Some(90),
    });
    for code in [
        ErrorCode::FullAccessKey,
        ErrorCode::InvalidKey,
        ErrorCode::OtherAccount,
    ] {
        round_trip(ApiError {
            error: code,
            message: String::new(),
            missing: Vec::new(),
            reason: None,
            retry_after: None,
        });
    }
}

#[wasm_bindgen_test]
fn an_empty_answer_is_null() {
    assert_eq!(same_as_serde::<()>(""), Some(()));
    assert_eq!(same_as_serde::<Option<DeleteOutcome>>(""), Some(None));
    assert_eq!(same_as_serde::<Option<CallbackNotice>>("null"), Some(None));
    assert_eq!(same_as_serde::<()>("{}"), None);
    assert_eq!(same_as_serde::<Vec<User>>(""), None);
}

#[wasm_bindgen_test]
fn optional_and_default_fields_may_be_missing_and_unknown_fields_are_ignored() {
    let old = same_as_serde::<Connection>(
        r#"{"id":1,"name":"A","kind":"stripe","account_id":"acct_1","livemode":false,
            "status":"success","last_started_at":null,"created_at":1,"future":{"x":[1]}}"#,
    )
    .unwrap();
    assert_eq!(old.auth_kind, AuthKind::Connect);
    assert_eq!(
        (old.key_last4, old.last_error, old.last_duration_ms),
        (None, None, None)
    );
    let info = same_as_serde::<ServerInfo>(r#"{"demo_mode":false}"#).unwrap();
    assert_eq!(info.restricted_key_url, "");
    same_as_serde::<AuditEntry>(
        r#"{"actor":"Stripe","action":"access_revoked","detail":{},"created_at":2}"#,
    )
    .unwrap();
    same_as_serde::<ApiError>(r#"{"error":"not_found","message":"No such connection."}"#).unwrap();
}

#[wasm_bindgen_test]
fn unknown_codes_read_as_the_catch_all_or_fail_like_serde() {
    let e = same_as_serde::<AuditEntry>(
        r#"{"actor":"system","action":"from_the_future","detail":{"problem":"new_problem"},"created_at":2}"#,
    )
    .unwrap();
    assert_eq!(e.action, AuditAction::Other);
    assert_eq!(e.detail.problem, Some(Problem::Unknown));
    assert_eq!(
        same_as_serde::<ApiError>(r#"{"error":"teapot","message":"x"}"#),
        None
    );
    assert_eq!(
        same_as_serde::<DeleteOutcome>(r#"{"removal":"gone","auth_kind":"apps"}"#),
        None
    );
    assert_eq!(
        same_as_serde::<User>(
            &serde_json::to_string(&ada())
                .unwrap()
                .replace("read_only", "read-only")
        ),
        None
    );
}

#[wasm_bindgen_test]
fn missing_fields_wrong_types_and_bad_json_fail_like_serde() {
    let good = serde_json::to_string(&acme()).unwrap();
    for broken in [
        good.replace(r#""id":7,"#, ""),
        good.replace(r#""id":7"#, r#""id":"7""#),
        good.replace(r#""id":7"#, r#""id":7.5"#),
        good.replace(r#""id":7"#, r#""id":null"#),
        good.replace(r#""livemode":false"#, r#""livemode":"false""#),
        good.replace(r#""status":"needs_reauth""#, r#""status":"NEEDS_REAUTH""#),
        good.replace(r#""auth_kind":"restricted_key""#, r#""auth_kind":null"#),
        good.replace(r#""key_last4":"abcd""#, r#""key_last4":1234"#),
        format!("{good} x"),
        good[..good.len() - 1].to_owned(),
        "[]".into(),
        "\"text\"".into(),
        "".into(),
    ] {
        assert_eq!(same_as_serde::<Connection>(&broken), None, "{broken}");
    }
    assert_eq!(same_as_serde::<AuditDetail>("null"), None);
    assert_eq!(same_as_serde::<AuditDetail>(r#""x""#), None);
    assert_eq!(
        same_as_serde::<Vec<Connection>>(&format!("[{good},1]")),
        None
    );
    assert_eq!(same_as_serde::<Vec<Connection>>(r#"{"0":1}"#), None);
    assert_eq!(same_as_serde::<ApiError>("<html>Bad gateway</html>"), None);
}

fn sync_status() -> SyncStatus {
    SyncStatus {
        status: SyncState::Running,
        tables: vec![
            TableSync {
                name: "customers".into(),
                rows: 12,
                synced_at: Some(1_700_000_000),
                progress: Some(SyncProgress { done: 3, total: 12 }),
                error: None,
            },
            TableSync {
                name: "charges".into(),
                rows: 0,
                synced_at: None,
                progress: None,
                error: Some(SyncError {
                    code: "forbidden".into(),
                    message: "Stripe refused \"charges\".".into(),
                }),
            },
        ],
    }
}

#[wasm_bindgen_test]
fn the_sync_status_reads_what_serde_writes() {
    round_trip(sync_status());
    for status in [
        SyncState::Idle,
        SyncState::Queued,
        SyncState::Running,
        SyncState::Error,
    ] {
        round_trip(SyncStatus {
            status,
            tables: Vec::new(),
        });
    }
    // Unknown states, missing fields and wrong types fail like serde.
    assert_eq!(
        same_as_serde::<SyncStatus>(r#"{"status":"paused","tables":[]}"#),
        None
    );
    assert_eq!(same_as_serde::<SyncStatus>(r#"{"status":"idle"}"#), None);
    assert_eq!(
        same_as_serde::<SyncStatus>(
            r#"{"status":"idle","tables":[{"name":"plans","rows":1.5,"synced_at":null,"progress":null,"error":null}]}"#
        ),
        None
    );
    // Optional fields may be missing; unknown ones are ignored.
    assert_eq!(
        same_as_serde::<SyncStatus>(
            r#"{"status":"idle","extra":1,"tables":[{"name":"plans","rows":1}]}"#
        )
        .map(|s| s.tables[0].synced_at),
        Some(None)
    );
}

#[wasm_bindgen_test]
fn a_table_page_reads_as_row_summaries() {
    let page = TablePage {
        rows: vec![
            serde_json::json!({"id": "cus_1", "object": "customer", "created": 1_700_000_000, "email": null}),
            serde_json::json!({"id": "cus_2", "object": "customer", "deleted": true}),
        ],
        has_more: true,
    };
    let text = serde_json::to_string(&page).unwrap();
    let ours = json::parse::<TablePage<json::RowSummary>>(&text).unwrap();
    assert!(ours.has_more);
    assert_eq!(
        ours.rows,
        [
            json::RowSummary {
                id: "cus_1".into(),
                created: Some(1_700_000_000),
                deleted: false,
            },
            json::RowSummary {
                id: "cus_2".into(),
                created: None,
                deleted: true,
            },
        ]
    );
    assert!(json::parse::<TablePage<json::RowSummary>>(
        r#"{"rows":[{"object":"x"}],"has_more":false}"#
    )
    .is_none());
    assert!(json::parse::<TablePage<json::RowSummary>>(r#"{"rows":[]}"#).is_none());
}
