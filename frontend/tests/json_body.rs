//! The front end writes request bodies by hand (`frontend::json_body`), not with serde: these
//! tests hold them to serde_json's own output, byte for byte, on awkward strings too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontend::json_body;
use shared::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Strings serde_json escapes or leaves alone: quotes, backslashes, every short escape, other
/// control characters, DEL, `/`, `<`, non-ASCII and astral characters.
fn awkward() -> Vec<String> {
    let controls: String = (0u8..0x20).map(char::from).collect();
    vec![
        String::new(),
        "ada@example.com".into(),
        "Acme \"Corp\" \\ / <b> ☃ \u{1F600} \u{7f}".into(),
        controls,
        "line\nbreak\r\ttab\u{8}\u{c}".into(),
    ]
}

#[wasm_bindgen_test]
fn every_request_body_is_what_serde_writes() {
    for s in awkward() {
        let t = format!("{s}x");
        let b = SignInRequest {
            email: s.clone(),
            password: t.clone(),
        };
        assert_eq!(json_body::sign_in(&b), serde_json::to_string(&b).unwrap());
        for role in [Role::Admin, Role::Standard, Role::ReadOnly] {
            for password in [None, Some(t.clone())] {
                let b = CreateUserRequest {
                    email: s.clone(),
                    display_name: t.clone(),
                    role,
                    password,
                };
                assert_eq!(
                    json_body::create_user(&b),
                    serde_json::to_string(&b).unwrap()
                );
            }
        }
        for name in [None, Some(s.clone())] {
            let b = RestrictedKeyRequest {
                key: t.clone(),
                name,
            };
            assert_eq!(
                json_body::restricted_key(&b),
                serde_json::to_string(&b).unwrap()
            );
        }
        for origins in [vec![], vec![s.clone()], vec![s.clone(), t.clone()]] {
            let b = NewHostKey {
                name: s.clone(),
                origins,
            };
            assert_eq!(
                json_body::new_host_key(&b),
                serde_json::to_string(&b).unwrap()
            );
        }
        assert_eq!(
            json_body::return_to(&s),
            serde_json::json!({ "return_to": s }).to_string()
        );
    }
    for role in [None, Some(Role::Admin), Some(Role::ReadOnly)] {
        for disabled in [None, Some(true), Some(false)] {
            let b = UpdateUserRequest { role, disabled };
            assert_eq!(
                json_body::update_user(&b),
                serde_json::to_string(&b).unwrap()
            );
        }
    }
    for locale in [None, Some(Locale::En), Some(Locale::It)] {
        let b = LocaleChoice { locale };
        assert_eq!(
            json_body::locale_choice(&b),
            serde_json::to_string(&b).unwrap()
        );
    }
}
