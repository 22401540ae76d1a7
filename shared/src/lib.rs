//! Types both sides of the Connections product speak: API bodies, statuses, the error body and the
//! outcome codes the OAuth callback hands to the front end. Plain serde only, so it compiles to wasm.

/// Path of the SPA page the OAuth callback sends the browser back to.
pub const CONNECTIONS_PAGE: &str = "/admin/connections";

mod callback;
mod connection;
mod error;
mod users;

pub use callback::*;
pub use connection::*;
pub use error::*;
pub use users::*;

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let v: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v["auth_kind"], "restricted_key");
        assert_eq!(v["last_error"], "refused");
        assert_eq!(v["kind"], "stripe");
        assert_eq!(v["status"], "needs_reauth");
        assert_eq!(v["last_duration_ms"], serde_json::Value::Null);
        let back: Connection = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn api_error_body_is_snake_case() {
        let e = ApiError {
            error: ErrorCode::UpstreamFailed,
            message: "Stripe is unreachable.".into(),
            missing: Vec::new(),
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
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["error"], "missing_permissions");
        assert_eq!(v["missing"][0]["list"], "coupons");
    }
}
