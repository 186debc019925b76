//! The caller's time and randomness: the [`Clock`] and [`Keys`] traits and their system
//! implementations.
//!
//! This is the only module that reads the system clock or the operating system's random
//! generator; everything else gets `now` and random bytes as parameters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use ring::rand::SecureRandom as _;
use time::{Duration, OffsetDateTime};

use crate::jose::{KeySet, SharedKeySet};

/// The source of the current time.
pub trait Clock: Send + Sync {
    /// The current time. Need not be monotonic, but should not run far from real time: every
    /// expiry is judged against it.
    fn now(&self) -> OffsetDateTime;
}

/// The random generator failed; the request fails with `server_error` and nothing is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the random generator failed")]
pub struct RandomError;

/// The source of randomness and of the keys that sign JWT access tokens.
///
/// Every code, token and grant id is made from bytes this trait returns, so it must be a
/// cryptographically secure generator: [`SystemKeys`] is.
///
/// For JWT access tokens, [`Keys::jwt_keys`] hands out the [`KeySet`]: the active signing key
/// and every key that still verifies. [`SharedKeySet`] implements this trait with the system
/// generator and a rotatable key set.
///
/// The one randomness this trait does not supply: `ring` draws ECDSA nonces and RSA blinding
/// from its own system generator, because its random-source trait is sealed.
pub trait Keys: Send + Sync {
    /// Fills `dest` with cryptographically secure random bytes.
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError>;

    /// The JWT keys as they are now, or `None` when this source has none (then JWT access
    /// tokens cannot be issued or verified, and the server answers `server_error`). Called once
    /// per issued or verified JWT; return a shared snapshot, not a copy.
    fn jwt_keys(&self) -> Option<Arc<KeySet>> {
        None
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<T: Keys + ?Sized> Keys for Arc<T> {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill_random(dest)
    }

    fn jwt_keys(&self) -> Option<Arc<KeySet>> {
        (**self).jwt_keys()
    }
}

impl<T: Keys + ?Sized> Keys for &T {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill_random(dest)
    }

    fn jwt_keys(&self) -> Option<Arc<KeySet>> {
        (**self).jwt_keys()
    }
}

/// The system's wall clock (UTC).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The operating system's secure random generator, through `ring`.
#[derive(Debug)]
pub struct SystemKeys {
    rng: ring::rand::SystemRandom,
}

impl SystemKeys {
    /// The system generator.
    pub fn new() -> Self {
        Self { rng: ring::rand::SystemRandom::new() }
    }
}

impl Default for SystemKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl Keys for SystemKeys {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.rng.fill(dest).map_err(|_| RandomError)
    }
}

/// The system generator for randomness, and the set's keys for JWTs.
impl Keys for SharedKeySet {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        ring::rand::SystemRandom::new().fill(dest).map_err(|_| RandomError)
    }

    fn jwt_keys(&self) -> Option<Arc<KeySet>> {
        Some(self.snapshot())
    }
}

/// A clock that only moves when told to: for tests, simulations and fuzzing.
///
/// Share it with the server through an `Arc` (or a reference) and move it with
/// [`ManualClock::advance`].
#[derive(Debug)]
pub struct ManualClock {
    unix_nanos: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `at` (times outside 1678..2262 are clamped to that range).
    pub fn new(at: OffsetDateTime) -> Self {
        Self { unix_nanos: AtomicI64::new(Self::to_nanos(at)) }
    }

    /// A clock stopped at `unix_seconds` after the Unix epoch.
    pub fn at_unix(unix_seconds: i64) -> Self {
        Self::new(OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// Sets the time.
    pub fn set(&self, at: OffsetDateTime) {
        self.unix_nanos.store(Self::to_nanos(at), Ordering::SeqCst);
    }

    /// Moves the time by `by` (which may be negative).
    pub fn advance(&self, by: Duration) {
        let delta = i64::try_from(by.whole_nanoseconds()).unwrap_or(i64::MAX);
        let _ = self.unix_nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(delta)));
    }

    fn to_nanos(at: OffsetDateTime) -> i64 {
        let nanos = at.unix_timestamp_nanos();
        i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let nanos = i128::from(self.unix_nanos.load(Ordering::SeqCst));
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Fills a fresh 32-byte array from `keys`.
pub(crate) fn random_32(keys: &impl Keys) -> Result<[u8; 32], RandomError> {
    let mut out = [0u8; 32];
    keys.fill_random(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix(1_700_000_000);
        assert_eq!(c.now().unix_timestamp(), 1_700_000_000);
        c.advance(Duration::seconds(61));
        assert_eq!(c.now().unix_timestamp(), 1_700_000_061);
    }

    #[test]
    fn sec04_system_keys_give_distinct_256_bit_values() {
        let k = SystemKeys::new();
        assert_ne!(random_32(&k).unwrap(), random_32(&k).unwrap());
    }
}
