//! Request bodies written by hand, byte for byte what `serde_json::to_string` writes for the same
//! `shared` types (checked by `frontend/tests/json.rs`). serde_json's serializer, instantiated per
//! body type (and its `Value` for `json!`), was ~1 KB gzip of each bundle; this is one small
//! non-generic writer.

use shared::{
    CreateUserRequest, NewHostKey, RestrictedKeyRequest, SignInRequest, UpdateUserRequest,
};

/// A JSON object under construction: `{"key":value,…}` in the order the fields are added.
struct Object(String);

impl Object {
    fn new() -> Self {
        Self(String::from("{"))
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        string(&mut self.0, key);
        self.0.push(':');
        &mut self.0
    }

    fn str(mut self, key: &str, value: &str) -> Self {
        string(self.key(key), value);
        self
    }

    /// `null` for `None`, as serde writes an `Option` without `skip_serializing_if`.
    fn opt_str(mut self, key: &str, value: Option<&str>) -> Self {
        let out = self.key(key);
        match value {
            Some(v) => string(out, v),
            None => out.push_str("null"),
        }
        self
    }

    /// A literal (`true`, `false`, `null`).
    fn raw(mut self, key: &str, value: &str) -> Self {
        self.key(key).push_str(value);
        self
    }

    fn strs(mut self, key: &str, values: &[String]) -> Self {
        let out = self.key(key);
        out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, v);
        }
        out.push(']');
        self
    }

    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// A JSON string, escaped as serde_json does: `"`, `\`, the short escapes, other control
/// characters as `\u00xx` (lowercase hex), everything else as it is.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn opt_bool(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    }
}

/// `POST /api/auth/sign-in`.
pub fn sign_in(b: &SignInRequest) -> String {
    Object::new()
        .str("email", &b.email)
        .str("password", &b.password)
        .end()
}

/// `POST /api/users`.
pub fn create_user(b: &CreateUserRequest) -> String {
    Object::new()
        .str("email", &b.email)
        .str("display_name", &b.display_name)
        .str("role", b.role.as_str())
        .opt_str("password", b.password.as_deref())
        .end()
}

/// `PATCH /api/users/{id}`.
pub fn update_user(b: &UpdateUserRequest) -> String {
    Object::new()
        .opt_str("role", b.role.map(|r| r.as_str()))
        .raw("disabled", opt_bool(b.disabled))
        .end()
}

/// `POST /api/host-keys`.
pub fn new_host_key(b: &NewHostKey) -> String {
    Object::new()
        .str("name", &b.name)
        .strs("origins", &b.origins)
        .end()
}

/// `POST /api/connections/stripe/key` and `…/{id}/key` (`name` left out when `None`, as serde's
/// `skip_serializing_if` does).
pub fn restricted_key(b: &RestrictedKeyRequest) -> String {
    let o = Object::new().str("key", &b.key);
    match &b.name {
        Some(name) => o.str("name", name),
        None => o,
    }
    .end()
}

/// `PUT /api/auth/me/locale`.
pub fn locale_choice(b: &shared::LocaleChoice) -> String {
    Object::new()
        .opt_str("locale", b.locale.map(shared::Locale::as_str))
        .end()
}

/// `{"return_to": page}` for `POST /api/connections/stripe/authorize`.
pub fn return_to(page: &str) -> String {
    Object::new().str("return_to", page).end()
}
