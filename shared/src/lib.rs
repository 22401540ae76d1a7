//! Types both sides of the Connections product speak: API bodies, statuses, the error body and the
//! outcome codes the OAuth callback hands to the front end. Plain serde only, so it compiles to wasm.

/// Path of the SPA page the OAuth callback sends the browser back to.
pub const CONNECTIONS_PAGE: &str = "/admin/connections";

#[macro_use]
mod wire;

mod callback;
mod connection;
mod error;
mod hosts;
mod sync;
mod users;
mod warehouse;

pub use callback::*;
pub use connection::*;
pub use error::*;
pub use hosts::*;
pub use sync::*;
pub use users::*;
pub use warehouse::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warehouse_reads_as_the_spec_writes_it_and_a_change_ignores_types() {
        let body = r#"{"schema": "stripe_acme", "tables": [{"name": "customers", "columns":
            [{"name": "email", "type": "text", "tracked": true},
             {"name": "created", "type": "timestamp", "tracked": false}]}]}"#;
        let warehouse: Warehouse = serde_json::from_str(body).unwrap();
        assert_eq!(warehouse.tables[0].columns[1].kind, ColumnType::Timestamp);
        let again = serde_json::to_value(&warehouse).unwrap();
        assert_eq!(again["tables"][0]["columns"][0]["type"], "text");
        let change: WarehouseChange = serde_json::from_str(body).unwrap();
        assert!(!change.tables[0].columns[1].tracked);
        assert!(serde_json::from_str::<ColumnType>("\"float\"").is_err());
    }

    #[test]
    fn status_round_trips_through_its_wire_name() {
        for s in [
            ConnectionStatus::Success,
            ConnectionStatus::NeedsReauth,
            ConnectionStatus::Error,
            ConnectionStatus::Testing,
        ] {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(ConnectionStatus::parse("SUCCESS"), None);
    }

    #[test]
    fn callback_errors_round_trip_and_unknown_codes_are_rejected() {
        for e in CallbackError::ALL {
            assert_eq!(CallbackError::parse(e.as_str()), Some(e));
        }
        assert_eq!(CallbackError::parse("<script>"), None);
        assert_eq!(CallbackError::parse(""), None);
    }

    #[test]
    fn roles_parse_from_wire_and_command_line_spellings() {
        assert_eq!(Role::parse("read-only"), Some(Role::ReadOnly));
        assert_eq!(Role::parse("READ_ONLY"), Some(Role::ReadOnly));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            serde_json::to_string(&Role::ReadOnly).unwrap(),
            "\"read_only\""
        );
    }

    #[test]
    fn callback_redirect_points_at_the_connections_page() {
        assert_eq!(callback_redirect(Ok(7)), "/admin/connections?connected=7");
        assert_eq!(
            callback_redirect(Err(CallbackError::AccessDenied)),
            "/admin/connections?error=access_denied"
        );
    }

    #[test]
    fn connection_json_has_the_documented_shape() {
        let c = Connection {
            id: 1,
            name: "Acme".into(),
            kind: IntegrationKind::Stripe,
            account_id: "acct_1".into(),
            livemode: false,
            status: ConnectionStatus::NeedsReauth,
            last_started_at: Some(10),
            last_duration_ms: None,
            created_at: 5,
            last_error: Some(Problem::Refused),
            auth_kind: AuthKind::RestrictedKey,
            key_last4: Some("abcd".into()),
            organization: None,
            fresh_as_of: Some(1_700_000_000),
        };
        let v: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v["auth_kind"], "restricted_key");
        assert_eq!(v["last_error"], "refused");
        assert_eq!(v["kind"], "stripe");
        assert_eq!(v["status"], "needs_reauth");
        assert_eq!(v["last_duration_ms"], serde_json::Value::Null);
        assert_eq!(v["fresh_as_of"], 1_700_000_000);
        let back: Connection = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn api_error_body_is_snake_case() {
        let e = ApiError {
            error: ErrorCode::UpstreamFailed,
            message: "Stripe is unreachable.".into(),
            missing: Vec::new(),
            reason: None,
            retry_after: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"upstream_failed","message":"Stripe is unreachable."}"#
        );
    }

    #[test]
    fn codes_round_trip_and_unknown_ones_degrade_gracefully() {
        for k in [AuthKind::Connect, AuthKind::Apps, AuthKind::RestrictedKey] {
            assert_eq!(AuthKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for p in Problem::ALL {
            assert_eq!(Problem::parse(p.as_str()), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Problem::parse("from_the_future"), Problem::Unknown);
        let p: Problem = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(p, Problem::Unknown);
        let a: AuditAction = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(a, AuditAction::Other);
        assert_eq!(
            serde_json::to_value(AuditAction::TokenRefreshed).unwrap(),
            AuditAction::TokenRefreshed.as_str()
        );
    }

    #[test]
    fn older_connection_json_still_reads() {
        let c: Connection = serde_json::from_str(
            r#"{"id":1,"name":"A","kind":"stripe","account_id":"acct_1","livemode":false,
                "status":"success","last_started_at":null,"last_duration_ms":null,"created_at":1}"#,
        )
        .unwrap();
        assert_eq!(c.auth_kind, AuthKind::Connect);
        assert_eq!(c.key_last4, None);
    }

    #[test]
    fn audit_detail_omits_what_it_does_not_say() {
        let d = AuditDetail {
            status: Some(ConnectionStatus::Success),
            duration_ms: Some(12),
            ..AuditDetail::default()
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"status":"success","duration_ms":12}"#
        );
        let e = ApiError {
            error: ErrorCode::MissingPermissions,
            message: "x".into(),
            missing: vec![MissingPermission {
                list: "coupons".into(),
                permission: "rak_coupon_read".into(),
            }],
            reason: None,
            retry_after: None,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["error"], "missing_permissions");
        assert_eq!(v["missing"][0]["list"], "coupons");
    }

    #[test]
    fn a_widget_start_names_its_return_page_and_nothing_else() {
        let start = AuthorizeRequest {
            return_to: Some("https://host.example/page".into()),
        };
        assert_eq!(
            serde_json::to_string(&start).unwrap(),
            r#"{"return_to":"https://host.example/page"}"#
        );
        assert_eq!(
            serde_json::to_string(&AuthorizeRequest::default()).unwrap(),
            "{}"
        );
        let empty: AuthorizeRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, AuthorizeRequest::default());
        assert!(serde_json::from_str::<AuthorizeRequest>(r#"{"return":"x"}"#).is_err());
    }

    #[test]
    fn a_table_page_of_stripe_objects_reads_as_row_summaries() {
        let page = TablePage {
            rows: vec![
                serde_json::json!({"id": "cus_1", "object": "customer", "created": 1_700_000_000, "email": null}),
                serde_json::json!({"id": "cus_2", "object": "customer", "deleted": true}),
            ],
            has_more: true,
        };
        let text = serde_json::to_string(&page).unwrap();
        let read: TablePage<RowSummary> = serde_json::from_str(&text).unwrap();
        assert!(read.has_more);
        assert_eq!(
            read.rows,
            [
                RowSummary {
                    id: "cus_1".into(),
                    created: Some(1_700_000_000),
                    deleted: false,
                },
                RowSummary {
                    id: "cus_2".into(),
                    created: None,
                    deleted: true,
                },
            ]
        );
        // A row needs its id.
        assert!(serde_json::from_str::<TablePage<RowSummary>>(
            r#"{"rows":[{"object":"x"}],"has_more":false}"#
        )
        .is_err());
    }

    fn wire_round_trip<T>(all: &[T], name: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        for &v in all {
            let json = format!("\"{}\"", name(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
        }
    }

    #[test]
    fn code_enums_keep_their_snake_case_wire_names() {
        wire_round_trip(&[IntegrationKind::Stripe], IntegrationKind::as_str);
        assert_eq!(IntegrationKind::Stripe.as_str(), "stripe");
        wire_round_trip(
            &[AuthKind::Connect, AuthKind::Apps, AuthKind::RestrictedKey],
            AuthKind::as_str,
        );
        wire_round_trip(&Problem::ALL, Problem::as_str);
        wire_round_trip(&[Problem::Unknown], Problem::as_str);
        wire_round_trip(
            &[
                ConnectionStatus::Success,
                ConnectionStatus::NeedsReauth,
                ConnectionStatus::Error,
                ConnectionStatus::Testing,
            ],
            ConnectionStatus::as_str,
        );
        wire_round_trip(
            &[AuditAction::AccessRevoked, AuditAction::Other],
            AuditAction::as_str,
        );
        assert_eq!(AuditAction::AccessRevoked.as_str(), "access_revoked");
        wire_round_trip(
            &[Removal::AlreadyDisconnected, Removal::CredentialDropped],
            Removal::as_str,
        );
        assert_eq!(Removal::CredentialDropped.as_str(), "credential_dropped");
        wire_round_trip(
            &[ErrorCode::UpstreamFailed, ErrorCode::MissingPermissions],
            ErrorCode::as_str,
        );
        assert_eq!(
            ErrorCode::MissingPermissions.as_str(),
            "missing_permissions"
        );
        wire_round_trip(&Role::ALL, Role::as_str);
        // Unknown names: refused like serde's derive does, unless the enum has a catch-all.
        let e = serde_json::from_str::<Role>("\"root\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "unknown variant `root`, expected one of `admin`, `standard`, `read_only`"
            ),
            "{e}"
        );
        assert!(serde_json::from_str::<ConnectionStatus>("7").is_err());
        assert_eq!(
            serde_json::from_str::<Problem>("\"new\"").unwrap(),
            Problem::Unknown
        );
        assert_eq!(Problem::from_wire("new"), Some(Problem::Unknown));
        assert_eq!(AuditAction::from_wire("new"), Some(AuditAction::Other));
        assert_eq!(Removal::from_wire("local_only"), Some(Removal::LocalOnly));
        assert_eq!(Role::from_wire("read-only"), None);
        assert_eq!(ErrorCode::from_wire("teapot"), None);
        // Inside a struct, through serde_json::Value too (how the backend reads its audit rows).
        let v = serde_json::json!({"status": "needs_reauth", "problem": "revoked", "removal": "local_only"});
        let d: AuditDetail = serde_json::from_value(v).unwrap();
        assert_eq!(d.status, Some(ConnectionStatus::NeedsReauth));
        assert_eq!(d.problem, Some(Problem::Revoked));
        assert_eq!(d.removal, Some(Removal::LocalOnly));
    }
}
