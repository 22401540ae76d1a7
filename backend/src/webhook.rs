//! Stripe webhook signatures, exactly as STRIPE.md describes: `Stripe-Signature: t=…,v1=…[,v1=…]`,
//! HMAC-SHA256 keyed with the whole `whsec_…` string over `"{t}.{raw body}"`, any matching `v1`
//! accepted (constant-time), timestamps older than the tolerance refused, several secrets during a
//! roll.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Events older than this are refused (replay protection).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or one we cannot read.
    #[error("malformed Stripe-Signature header")]
    Malformed,
    /// The timestamp is outside the tolerance.
    #[error("timestamp outside the tolerance")]
    Expired,
    /// No `v1` matches any secret.
    #[error("no matching signature")]
    Mismatch,
}

/// Signs `payload` at `timestamp` with `secret` (the emulator sends events signed this way).
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for `payload` signed at `timestamp`.
pub fn header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// Verifies `header` over the raw `payload` against any of `secrets`, at time `now`.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {} // other schemes (v0) are ignored, as Stripe's libraries do
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    for secret in secrets {
        for signature in &signatures {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| SignatureError::Mismatch)?;
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(payload);
            // verify_slice compares in constant time.
            if mac.verify_slice(signature).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"account.application.deauthorized"}"#;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_valid_signature_is_accepted() {
        let h = header(SECRET, 1_000, BODY);
        assert_eq!(verify(&h, BODY, &secrets(&[SECRET]), 1_010), Ok(()));
    }

    #[test]
    fn matches_stripes_documented_construction() {
        // `printf '1000.{}' | openssl dgst -sha256 -hmac whsec_test_secret`
        assert_eq!(
            sign(SECRET, 1_000, b"{}"),
            "230ea6be829c59eb46e9b0c8955ab2b69ed6607e288ee283a8a1471fd5f3ad53"
        );
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let h = header("whsec_other", 1_000, BODY);
        assert_eq!(
            verify(&h, BODY, &secrets(&[SECRET]), 1_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_or_future_timestamp_is_refused() {
        let h = header(SECRET, 1_000, BODY);
        assert_eq!(
            verify(&h, BODY, &secrets(&[SECRET]), 1_000 + TOLERANCE_SECS + 1),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(&h, BODY, &secrets(&[SECRET]), 1_000 - TOLERANCE_SECS - 1),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(&h, BODY, &secrets(&[SECRET]), 1_000 + TOLERANCE_SECS),
            Ok(())
        );
    }

    #[test]
    fn any_matching_v1_is_enough_and_secrets_can_roll() {
        let good = sign(SECRET, 1_000, BODY);
        let h = format!("t=1000,v1={},v0=abc,v1={good}", "00".repeat(32));
        assert_eq!(verify(&h, BODY, &secrets(&[SECRET]), 1_000), Ok(()));
        let rolled = header("whsec_new", 1_000, BODY);
        assert_eq!(
            verify(&rolled, BODY, &secrets(&[SECRET, "whsec_new"]), 1_000),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for h in ["", "t=abc,v1=00", "v1=00", "t=1000", "garbage", "t=1000,v1"] {
            assert_eq!(
                verify(h, BODY, &secrets(&[SECRET]), 1_000),
                Err(SignatureError::Malformed),
                "{h:?}"
            );
        }
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let h = header(SECRET, 1_000, BODY);
        let tampered = br#"{"id":"evt_1","type":"account.application.authorized"}"#;
        assert_eq!(
            verify(&h, tampered, &secrets(&[SECRET]), 1_000),
            Err(SignatureError::Mismatch)
        );
    }
}
