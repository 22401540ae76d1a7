//! Encryption of Stripe tokens at rest: AES-256-GCM (RustCrypto), a fresh random nonce per value,
//! the key id stored beside each ciphertext, and the owning row bound in as associated data so a
//! ciphertext copied to another row does not decrypt.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Secret;

const NONCE_LEN: usize = 12;
const KEY_FILE: &str = "encryption.key";

/// Why a key could not be loaded or a value could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// `ENCRYPTION_KEY` or the key file does not hold base64 of 32 bytes.
    #[error("the encryption key must be base64 of exactly 32 bytes")]
    BadKey,
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value was encrypted under a key we do not have.
    #[error("a token was encrypted with key {0}, which is not the configured key")]
    UnknownKey(String),
    /// Authentication failed: wrong key, tampered value or moved ciphertext.
    #[error("a stored token could not be decrypted (wrong key or tampered value)")]
    Undecryptable,
    /// Encryption failed (AES-GCM refuses inputs beyond 64 GiB; never for a token).
    #[error("a token could not be encrypted")]
    Unsealable,
}

/// An encrypted value and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// base64(nonce ‖ ciphertext ‖ tag).
    pub ciphertext: String,
    /// Short fingerprint of the key (not the key).
    pub key_id: String,
}

/// One key and its id.
#[derive(Clone)]
struct KeyEntry {
    cipher: Aes256Gcm,
    key_id: String,
}

/// The token cipher: a keyring whose first key seals; every key opens (for rotation).
#[derive(Clone)]
pub struct TokenCipher {
    keys: Vec<KeyEntry>,
    key_id: String,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("key_id", &self.key_id)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

fn key_entry(key: &str) -> Result<KeyEntry, CryptoError> {
    let bytes = B64.decode(key.trim()).map_err(|_| CryptoError::BadKey)?;
    if bytes.len() != 32 {
        return Err(CryptoError::BadKey);
    }
    let digest = Sha256::digest([b"key-id:".as_slice(), &bytes].concat());
    Ok(KeyEntry {
        cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
        key_id: hex::encode(&digest[..6]),
    })
}

/// The SHA-256 of `value`, in hex: how single-use secrets (OAuth `state`s, nonces, host keys,
/// session tokens) are stored and compared.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Whether a presented secret (a bearer token) is the expected one, compared in constant time: both
/// go through one HMAC and the tags are compared with `verify_slice`, as webhook signatures are, so
/// the answer's timing tells nothing of how much of a guess was right.
pub fn secrets_equal(presented: &str, expected: &Secret) -> bool {
    let tag = |value: &str| {
        // Any key does: the HMAC only makes both sides fixed-length tags.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret comparison").ok()?;
        mac.update(value.as_bytes());
        Some(mac)
    };
    match (tag(presented), tag(expected.expose())) {
        (Some(presented), Some(expected)) => presented
            .verify_slice(&expected.finalize().into_bytes())
            .is_ok(),
        _ => false,
    }
}

/// A fresh random key, base64.
pub fn generate_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(B64.encode(bytes))
}

/// Writes a key file atomically (temporary file, then rename), mode 0600.
pub fn write_key_file(path: &Path, keys: &[Secret]) -> Result<(), CryptoError> {
    let file_err = |source| CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(file_err)?;
    let text: Vec<&str> = keys.iter().map(Secret::expose).collect();
    file.write_all(text.join("\n").as_bytes())
        .map_err(file_err)?;
    file.sync_all().map_err(file_err)?;
    std::fs::rename(&tmp, path).map_err(file_err)?;
    sync_dir(path).map_err(file_err)
}

/// Makes a rename or creation in `path`'s directory durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The keys of a key file, current first.
pub fn read_key_file(path: &Path) -> Result<Vec<Secret>, CryptoError> {
    let text = std::fs::read_to_string(path).map_err(|source| CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(Secret::new)
        .collect())
}

/// The id of one base64 key (what rows store beside their ciphertext).
pub fn key_id_of(key: &Secret) -> Result<String, CryptoError> {
    Ok(key_entry(key.expose().trim())?.key_id)
}

/// Path of the generated key file in a data directory.
pub fn key_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(KEY_FILE)
}

impl TokenCipher {
    /// Builds a cipher from base64 of a 32-byte key, or a keyring: several keys separated by commas
    /// or new lines, the first one current.
    pub fn from_base64(keys: &Secret) -> Result<Self, CryptoError> {
        let keys = keys
            .expose()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(key_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let key_id = keys.first().ok_or(CryptoError::BadKey)?.key_id.clone();
        Ok(Self { keys, key_id })
    }

    /// Uses `ENCRYPTION_KEY` when given, else the key file in `data_dir`, generating it (mode 0600)
    /// the first time with a warning.
    pub fn load_or_create(
        configured: Option<&Secret>,
        data_dir: &Path,
    ) -> Result<Self, CryptoError> {
        if let Some(key) = configured {
            return Self::from_base64(key);
        }
        let path = key_file(data_dir);
        let file_err = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&Secret::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let encoded = generate_key();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(file_err)?;
                file.write_all(encoded.expose().as_bytes())
                    .map_err(file_err)?;
                file.sync_all().map_err(file_err)?;
                sync_dir(&path).map_err(file_err)?;
                tracing::warn!(
                    path = %path.display(),
                    "ENCRYPTION_KEY is unset: generated a token encryption key file; back it up, \
                     without it stored Stripe tokens cannot be read"
                );
                Self::from_base64(&encoded)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// The id stored beside every ciphertext this cipher makes.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the row and field it belongs to).
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<Sealed, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        let key = self.keys.first().ok_or(CryptoError::Unsealable)?;
        let ciphertext = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::Unsealable)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(Sealed {
            ciphertext: B64.encode(out),
            key_id: self.key_id.clone(),
        })
    }

    /// Decrypts a value sealed by [`TokenCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, CryptoError> {
        let Some(key) = self.keys.iter().find(|k| k.key_id == sealed.key_id) else {
            return Err(CryptoError::UnknownKey(sealed.key_id.clone()));
        };
        let raw = B64
            .decode(&sealed.ciphertext)
            .map_err(|_| CryptoError::Undecryptable)?;
        if raw.len() <= NONCE_LEN {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| CryptoError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Secret {
        Secret::new(B64.encode([byte; 32]))
    }

    #[test]
    fn secrets_are_equal_only_when_identical() {
        let token = Secret::new("mt_0123456789abcdef");
        assert!(secrets_equal("mt_0123456789abcdef", &token));
        for wrong in [
            "",
            "mt_0123456789abcde",
            "mt_0123456789abcdef0",
            "MT_0123456789abcdef",
        ] {
            assert!(!secrets_equal(wrong, &token), "{wrong:?}");
        }
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let c = TokenCipher::from_base64(&key(1)).unwrap();
        let a = c.seal("sk_test_token", "row:1").unwrap();
        let b = c.seal("sk_test_token", "row:1").unwrap();
        assert_ne!(a.ciphertext, b.ciphertext, "nonces must differ");
        assert!(!a.ciphertext.contains("sk_test_token"));
        assert_eq!(c.open(&a, "row:1").unwrap(), "sk_test_token");
    }

    #[test]
    fn wrong_key_or_context_or_tampering_fails_cleanly() {
        let c1 = TokenCipher::from_base64(&key(1)).unwrap();
        let c2 = TokenCipher::from_base64(&key(2)).unwrap();
        let sealed = c1.seal("secret", "row:1").unwrap();
        assert!(matches!(
            c2.open(&sealed, "row:1"),
            Err(CryptoError::UnknownKey(_))
        ));
        // Same key id forged onto the other key's ciphertext still fails authentication.
        let forged = Sealed {
            key_id: c2.key_id().into(),
            ..sealed.clone()
        };
        assert!(matches!(
            c2.open(&forged, "row:1"),
            Err(CryptoError::Undecryptable)
        ));
        assert!(matches!(
            c1.open(&sealed, "row:2"),
            Err(CryptoError::Undecryptable)
        ));
        let mut raw = B64.decode(&sealed.ciphertext).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = Sealed {
            ciphertext: B64.encode(raw),
            ..sealed
        };
        assert!(matches!(
            c1.open(&tampered, "row:1"),
            Err(CryptoError::Undecryptable)
        ));
    }

    #[test]
    fn a_keyring_seals_with_the_first_key_and_opens_with_any() {
        let old = TokenCipher::from_base64(&key(1)).unwrap();
        let sealed_old = old.seal("tok", "ctx").unwrap();
        let ring = TokenCipher::from_base64(&Secret::new(format!(
            "{},{}",
            key(2).expose(),
            key(1).expose()
        )))
        .unwrap();
        assert_eq!(ring.open(&sealed_old, "ctx").unwrap(), "tok");
        let sealed_new = ring.seal("tok", "ctx").unwrap();
        assert_ne!(sealed_new.key_id, sealed_old.key_id);
        let new_only = TokenCipher::from_base64(&key(2)).unwrap();
        assert_eq!(new_only.open(&sealed_new, "ctx").unwrap(), "tok");
        assert!(matches!(
            new_only.open(&sealed_old, "ctx"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            TokenCipher::from_base64(&Secret::new("not base64!")),
            Err(CryptoError::BadKey)
        ));
        assert!(matches!(
            TokenCipher::from_base64(&Secret::new(B64.encode([0u8; 16]))),
            Err(CryptoError::BadKey)
        ));
    }

    #[test]
    fn generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = TokenCipher::load_or_create(None, dir.path()).unwrap();
        let second = TokenCipher::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
