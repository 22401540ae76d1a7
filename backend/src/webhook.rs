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

/// Stripe sends one `v1` per signing secret; a header with more is not Stripe's (and each one
/// would cost an HMAC over the body, so an unauthenticated caller could burn CPU with them).
pub const MAX_SIGNATURES: usize = 8;

/// Longest `Stripe-Signature` header read (Stripe's are about 100 bytes per secret).
pub const MAX_HEADER_LEN: usize = 1024;

/// A `Stripe-Signature` header that passed the cheap checks: its shape, at most
/// [`MAX_SIGNATURES`] signatures, a timestamp within the tolerance.
#[derive(Debug, Clone)]
pub struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

impl SignatureHeader {
    /// Parses and checks `header` at time `now`, before any body is read or hashed.
    pub fn parse(header: &str, now: i64) -> Result<Self, SignatureError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SignatureError::Malformed);
        }
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
                    // Empty or non-SHA-256 entries can never match: ignored, never hashed for.
                    if let Ok(bytes) = hex::decode(value) {
                        if bytes.len() == 32 {
                            signatures.push(bytes);
                        }
                    }
                    if signatures.len() > MAX_SIGNATURES {
                        return Err(SignatureError::Malformed);
                    }
                }
                _ => {} // other schemes (v0) are ignored, as Stripe's libraries do
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed);
        }
        // abs_diff cannot overflow, whatever `t=` says.
        if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
            return Err(SignatureError::Expired);
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }

    /// Checks the raw `payload` against any of `secrets`: one HMAC per secret, compared in
    /// constant time with each signature.
    pub fn verify(&self, payload: &[u8], secrets: &[String]) -> Result<(), SignatureError> {
        for secret in secrets {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| SignatureError::Mismatch)?;
            mac.update(self.timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(payload);
            for signature in &self.signatures {
                // verify_slice compares in constant time; the clone only finalizes the one HMAC.
                if mac.clone().verify_slice(signature).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(SignatureError::Mismatch)
    }
}

/// Verifies `header` over the raw `payload` against any of `secrets`, at time `now`.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    SignatureHeader::parse(header, now)?.verify(payload, secrets)
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

    #[test]
    fn floods_of_signatures_and_extreme_timestamps_are_refused_cheaply() {
        let good = sign(SECRET, 1_000, BODY);
        let many = format!("t=1000,{}v1={good}", "v1=,".repeat(100_000));
        assert_eq!(
            verify(&many, BODY, &secrets(&[SECRET]), 1_000),
            Err(SignatureError::Malformed),
            "too long to be Stripe's"
        );
        let nine = format!(
            "t=1000,{}",
            vec![format!("v1={}", "ab".repeat(32)); 9].join(",")
        );
        assert!(nine.len() <= MAX_HEADER_LEN);
        assert_eq!(
            verify(&nine, BODY, &secrets(&[SECRET]), 1_000),
            Err(SignatureError::Malformed)
        );
        // Empty entries are ignored, not hashed for; the real one still counts.
        let with_empties = format!("t=1000,v1=,v1=,v1={good}");
        assert_eq!(
            verify(&with_empties, BODY, &secrets(&[SECRET]), 1_000),
            Ok(())
        );
        for t in [i64::MIN, i64::MAX, -1] {
            let h = format!("t={t},v1={good}");
            assert_eq!(
                verify(&h, BODY, &secrets(&[SECRET]), 1_000),
                Err(SignatureError::Expired),
                "{t}"
            );
        }
        assert_eq!(
            verify(
                &format!("t=1000,v1={good}"),
                BODY,
                &secrets(&[SECRET]),
                i64::MIN
            ),
            Err(SignatureError::Expired)
        );
    }
}
