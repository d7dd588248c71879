//! The secret that every stored value able to match a person is keyed under.
//!
//! Duplicate fingerprints, idempotency guards, rate counters and
//! acknowledgement counts all find "the same person" or "the same sender"
//! again. A plain hash of a name, an email address or an IP address can be
//! matched against a guess by anyone who reads the table, so each of them is
//! an HMAC-SHA-256 under this key instead: without the key, the table holds
//! nothing that can be checked against what someone already knows.
//!
//! In AWS the key lives in Secrets Manager (see [`MatchKey::from_secret_string`]);
//! locally, a random key is kept in the data folder. Every tag carries the
//! key's version, so a rotated key starts fresh tags and the old ones expire
//! with their guards.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What a tag is for: the same value tagged for two purposes gives two
/// unrelated tags, so a counter cannot be matched against a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A booking's canonical details, to find duplicates.
    Fingerprint,
    /// A client's idempotency key.
    IdempotencyKey,
    /// A sender's network address (or its block), for rate limits.
    Source,
    /// A patient's email address, to count acknowledgements sent to it.
    Recipient,
    /// A client's idempotency key, as the human check's verifier sees it
    /// (unrelated to the guard's tag of the same key).
    HumanCheck,
    /// A booker's email address, to find their bookings (subject access,
    /// erasure).
    SubjectEmail,
    /// A booker's phone number, likewise.
    SubjectPhone,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Fingerprint => b"frontdesk/fingerprint",
            Self::IdempotencyKey => b"frontdesk/idempotency-key",
            Self::Source => b"frontdesk/source",
            Self::Recipient => b"frontdesk/recipient",
            Self::HumanCheck => b"frontdesk/human-check",
            Self::SubjectEmail => b"frontdesk/subject-email",
            Self::SubjectPhone => b"frontdesk/subject-phone",
        }
    }
}

/// A versioned HMAC key. Its `Debug` shows the version only.
#[derive(Clone)]
pub struct MatchKey {
    version: u32,
    /// The HMAC with the secret already absorbed: each tag clones it.
    mac: Hmac<Sha256>,
    /// The secret as stored, to write a local key back out.
    stored: String,
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchKeyError {
    /// The secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("the match key must be at least {MIN_SECRET_BYTES} bytes, found {0}")]
    TooShort(usize),
    /// The stored secret is not the JSON the template generates.
    #[error("the match key secret is not {{\"version\": \"<n>\", \"key\": \"<secret>\"}}: {0}")]
    Unshaped(String),
    /// No randomness was available to make a key.
    #[error("no randomness for a new match key: {0}")]
    NoRandomness(String),
}

impl std::fmt::Debug for MatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl MatchKey {
    /// A key from its version and its secret, as stored (the secret's
    /// UTF-8 bytes are the HMAC key).
    pub fn new(version: u32, secret: &str) -> Result<Self, MatchKeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(MatchKeyError::TooShort(secret.len()));
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .map_err(|_| MatchKeyError::TooShort(secret.len()))?;
        Ok(Self {
            version,
            mac,
            stored: secret.to_owned(),
        })
    }

    /// A fresh random key (version 1, 32 random bytes in hex), for a new
    /// local data folder.
    pub fn generate() -> Result<Self, MatchKeyError> {
        let mut secret = [0u8; MIN_SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| MatchKeyError::NoRandomness(e.to_string()))?;
        Self::new(1, &hex::encode(secret))
    }

    /// The key from the secret string the template's `GenerateSecretString`
    /// makes: `{"version": "1", "key": "<64 random characters>"}`. The
    /// version may be a number or a string of digits; rotating the key
    /// means putting a new value with a higher version.
    pub fn from_secret_string(raw: &str) -> Result<Self, MatchKeyError> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Version {
            Number(u32),
            Text(String),
        }
        #[derive(serde::Deserialize)]
        struct Stored {
            version: Version,
            key: String,
        }
        // The error of serde_json may quote the input, which holds the secret.
        let stored: Stored = serde_json::from_str(raw).map_err(|e| {
            MatchKeyError::Unshaped(format!("{:?} at column {}", e.classify(), e.column()))
        })?;
        let version = match stored.version {
            Version::Number(n) => n,
            Version::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| MatchKeyError::Unshaped("the version is not a whole number".into()))?,
        };
        Self::new(version, &stored.key)
    }

    /// The secret string [`MatchKey::from_secret_string`] reads, for a local data folder.
    pub fn to_secret_string(&self) -> String {
        serde_json::json!({
            "version": self.version.to_string(),
            "key": self.stored,
        })
        .to_string()
    }

    /// The key's version, as carried by every tag.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The tag of `value` for `purpose`: `v<version>.` and 32 hex digits
    /// (128 bits of the HMAC, ample against collisions among guards).
    pub fn tag(&self, purpose: Purpose, value: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(purpose.label());
        mac.update(&[0]);
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        format!("v{}.{}", self.version, hex::encode(&digest[..16]))
    }
}

/// How a match key is read when first needed: a future that gives it, or
/// why not (a line for an operator, naming no one).
pub type ReadKey = Box<
    dyn Fn()
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<MatchKey, String>> + Send>>
        + Send
        + Sync,
>;

/// The match key could not be read just now; the next use tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the match key could not be read")]
pub struct KeyUnreadable;

/// The match key as a function holds it: given (locally, the data
/// folder's), or read once when first needed and kept (in Lambda, from its
/// secret), so that no start waits on Secrets Manager. A failed read is
/// logged and tried again on the next use.
pub struct MatchKeyOnce {
    held: tokio::sync::OnceCell<std::sync::Arc<MatchKey>>,
    read: Option<ReadKey>,
}

impl MatchKeyOnce {
    /// A key already read.
    pub fn ready(key: std::sync::Arc<MatchKey>) -> Self {
        Self {
            held: tokio::sync::OnceCell::new_with(Some(key)),
            read: None,
        }
    }

    /// A key `read` reads when first needed.
    pub fn read_with(read: ReadKey) -> Self {
        Self {
            held: tokio::sync::OnceCell::new(),
            read: Some(read),
        }
    }

    /// The key in the Secrets Manager secret `secret` (its current
    /// version), read with `sdk`'s configuration when first needed.
    #[cfg(feature = "secrets")]
    pub fn from_secret(sdk: aws_config::SdkConfig, secret: String) -> Self {
        Self::read_with(Box::new(move || {
            let (sdk, secret) = (sdk.clone(), secret.clone());
            Box::pin(async move {
                crate::aws::match_key(&sdk, &secret)
                    .await
                    .map_err(|e| e.to_string())
            })
        }))
    }

    /// Starts reading the key in the background, so that the first request
    /// that needs it finds it read, or being read; one that comes first
    /// waits for the same read. A failed read is tried again when needed.
    /// Called from within the tokio runtime (`main`), which runs the read.
    pub fn read_ahead(self: &std::sync::Arc<Self>) {
        let once = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let _ = once.get().await;
        });
    }

    /// The key, read now if it has not been.
    pub async fn get(&self) -> Result<std::sync::Arc<MatchKey>, KeyUnreadable> {
        self.held
            .get_or_try_init(|| async {
                let Some(read) = &self.read else {
                    return Err(KeyUnreadable);
                };
                read().await.map(std::sync::Arc::new).map_err(|why| {
                    // The secret's name and the SDK's reason: no one's data.
                    tracing::error!(%why, "the match key could not be read");
                    KeyUnreadable
                })
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: u32, byte: char) -> MatchKey {
        MatchKey::new(version, &byte.to_string().repeat(32)).unwrap()
    }

    #[test]
    fn a_tag_depends_on_the_key_the_purpose_and_the_value() {
        let a = key(1, 'a');
        let tag = a.tag(Purpose::Fingerprint, b"ann");
        assert_eq!(tag, a.tag(Purpose::Fingerprint, b"ann"));
        assert!(tag.starts_with("v1.") && tag.len() == 3 + 32, "{tag}");
        assert_ne!(tag, a.tag(Purpose::Recipient, b"ann"));
        assert_ne!(tag, a.tag(Purpose::Fingerprint, b"bea"));
        assert_ne!(tag, key(1, 'b').tag(Purpose::Fingerprint, b"ann"));
        assert!(key(2, 'a')
            .tag(Purpose::Fingerprint, b"ann")
            .starts_with("v2."));
    }

    #[test]
    fn a_tag_is_the_documented_hmac() {
        let secret = "Jefe".repeat(8);
        let k = MatchKey::new(1, &secret).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"frontdesk/source\0what do ya want for nothing?");
        let full = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            k.tag(Purpose::Source, b"what do ya want for nothing?"),
            format!("v1.{}", &full[..32])
        );
    }

    #[test]
    fn the_templates_secret_string_is_read_and_short_or_odd_ones_refused() {
        let raw = format!(r#"{{"version":"3","key":"{}"}}"#, "x".repeat(64));
        let k = MatchKey::from_secret_string(&raw).unwrap();
        assert_eq!(k.version(), 3);
        let numeric = format!(r#"{{"version":4,"key":"{}"}}"#, "x".repeat(64));
        assert_eq!(MatchKey::from_secret_string(&numeric).unwrap().version(), 4);
        assert_eq!(
            MatchKey::from_secret_string(r#"{"version":"1","key":"short"}"#).unwrap_err(),
            MatchKeyError::TooShort(5)
        );
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
        let err = MatchKey::from_secret_string(&format!(r#"{{"key":"{secret}"}}"#)).unwrap_err();
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(MatchKey::from_secret_string("not json").is_err());
    }

    #[test]
    fn a_generated_key_round_trips_and_never_shows_its_secret() {
        let k = MatchKey::generate().unwrap();
        let again = MatchKey::from_secret_string(&k.to_secret_string()).unwrap();
        assert_eq!(
            k.tag(Purpose::Source, b"x"),
            again.tag(Purpose::Source, b"x")
        );
        assert_eq!(again.version(), 1);
        assert_eq!(k.stored.len(), 64);
        assert!(!format!("{k:?}").contains(&k.stored));
        assert_ne!(
            MatchKey::generate().unwrap().tag(Purpose::Source, b"x"),
            k.tag(Purpose::Source, b"x")
        );
    }

    #[tokio::test]
    async fn the_key_is_read_once_and_a_failed_read_is_tried_again() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reads);
        let once = MatchKeyOnce::read_with(Box::new(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 0 {
                    Err("unreachable just now".to_owned())
                } else {
                    MatchKey::new(3, "a-match-key-of-enough-length-0123456789")
                        .map_err(|e| e.to_string())
                }
            })
        }));
        assert_eq!(once.get().await.err(), Some(KeyUnreadable));
        assert_eq!(once.get().await.unwrap().version(), 3);
        assert_eq!(once.get().await.unwrap().version(), 3);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "read until it worked, then kept"
        );
    }

    #[tokio::test]
    async fn a_key_read_ahead_is_read_once_for_every_use_that_waits_on_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reads);
        let (release, released) = tokio::sync::watch::channel(false);
        let once = Arc::new(MatchKeyOnce::read_with(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut released = released.clone();
            Box::pin(async move {
                // Held until the test lets it go: the uses below come while
                // the read ahead is still under way.
                let _ = released.wait_for(|go| *go).await;
                MatchKey::new(4, "a-match-key-of-enough-length-0123456789")
                    .map_err(|e| e.to_string())
            })
        })));
        once.read_ahead();
        let started = async {
            while reads.load(Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), started)
            .await
            .expect("the read ahead starts a read");
        // Two uses while the read ahead is under way, then its release.
        let (a, b, ()) = tokio::join!(once.get(), once.get(), async {
            release.send(true).unwrap();
        });
        assert_eq!(a.unwrap().version(), 4);
        assert_eq!(b.unwrap().version(), 4);
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read, shared");
    }
}
