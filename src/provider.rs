//! The caller's time and randomness: the [`Clock`] and [`Random`] traits and their system
//! implementations, [`UserspaceRandom`] (the default generator: ChaCha20 seeded from the
//! operating system), and [`RandCore`], which makes any `rand_core` generator a [`Random`].
//!
//! This is the only module that reads the system clock or the operating system's random
//! generator; everything else gets `now` and random bytes as parameters. The keys that sign and
//! verify JWTs are a separate seam ([`JwtSigner`](crate::jose::JwtSigner) and
//! [`VerificationKeys`](crate::jose::VerificationKeys)), so a resource server that only verifies
//! needs no random source at all.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ring::rand::SecureRandom as _;
use time::{Duration, OffsetDateTime};

mod userspace;
pub use userspace::UserspaceRandom;

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

/// The source of randomness: every code, token, grant id and generated secret is made from the
/// bytes it returns, so it must be a cryptographically secure generator. [`UserspaceRandom`]
/// (the default) is ChaCha20 seeded from the operating system; [`SystemRandom`] is the
/// operating system's own, one system call per draw; [`RandCore`] adapts any `rand_core` `TryCryptoRng` (a seeded
/// generator in a deterministic simulation, say).
///
/// The one randomness this trait does not supply: `ring` draws ECDSA nonces and RSA blinding
/// from its own system generator, because its random-source trait is sealed.
pub trait Random: Send + Sync {
    /// Fills `dest` with cryptographically secure random bytes.
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

impl<T: Random + ?Sized> Random for Arc<T> {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill_random(dest)
    }
}

impl<T: Random + ?Sized> Random for &T {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill_random(dest)
    }
}

/// Any `rand_core` cryptographic generator as a [`Random`], behind a lock (generators take
/// `&mut self`; the server shares one source across requests).
///
/// ```
/// use oauth21::provider::{RandCore, Random};
/// # #[derive(Debug)] struct Counter(u8);
/// # impl rand_core::TryRngCore for Counter {
/// #     type Error = core::convert::Infallible;
/// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(0) }
/// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(0) }
/// #     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
/// #         for b in dst { self.0 = self.0.wrapping_add(1); *b = self.0; } Ok(())
/// #     }
/// # }
/// # impl rand_core::TryCryptoRng for Counter {}
/// // `Counter` stands for a real seeded CSPRNG such as a ChaCha generator.
/// let random = RandCore::new(Counter(0));
/// let mut bytes = [0u8; 3];
/// random.fill_random(&mut bytes)?;
/// assert_eq!(bytes, [1, 2, 3]);
/// # Ok::<(), oauth21::provider::RandomError>(())
/// ```
#[derive(Debug)]
pub struct RandCore<R>(Mutex<R>);

impl<R: rand_core::TryCryptoRng + Send> RandCore<R> {
    /// Wraps `generator`.
    pub fn new(generator: R) -> Self {
        Self(Mutex::new(generator))
    }
}

impl<R: rand_core::TryCryptoRng + Send> Random for RandCore<R> {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut generator = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        generator.try_fill_bytes(dest).map_err(|_| RandomError)
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

/// The system's wall clock (UTC).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since_epoch) => TODAY.with(|today| utc_from_unix(since_epoch, today)),
            Err(_) => OffsetDateTime::now_utc(),
        }
    }
}

std::thread_local! {
    /// The UTC day this thread last read the clock in: its first second and its date.
    static TODAY: std::cell::Cell<(u64, time::Date)> = const { std::cell::Cell::new((u64::MAX, time::Date::MIN)) };
}

/// The UTC time `since_epoch` after 1970-01-01, its date taken from `today` while the day is
/// the one `today` remembers. Turning a day count into a calendar date is most of what a clock
/// read costs beyond the system call, and a server asks for the time on every request.
fn utc_from_unix(since_epoch: std::time::Duration, today: &std::cell::Cell<(u64, time::Date)>) -> OffsetDateTime {
    const DAY: u64 = 86_400;
    let secs = since_epoch.as_secs();
    let day_start = secs - secs % DAY;
    let (cached_start, cached_date) = today.get();
    let date = if cached_start == day_start {
        cached_date
    } else {
        let Some(date) = i64::try_from(day_start).ok().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) else {
            // Past the end of the calendar `time` supports (year 9999): the latest time it can
            // name, where its own conversion would panic.
            return time::PrimitiveDateTime::MAX.assume_utc();
        };
        today.set((day_start, date.date()));
        date.date()
    };
    let in_day = secs - day_start;
    // In range by construction: hours < 24, minutes and seconds < 60, nanoseconds < 10^9.
    let time = time::Time::from_hms_nano(
        (in_day / 3600) as u8,
        (in_day / 60 % 60) as u8,
        (in_day % 60) as u8,
        since_epoch.subsec_nanos(),
    )
    .unwrap_or(time::Time::MIDNIGHT);
    time::PrimitiveDateTime::new(date, time).assume_utc()
}

/// The operating system's secure random generator, through `ring`.
#[derive(Debug, Clone)]
pub struct SystemRandom {
    rng: ring::rand::SystemRandom,
}

impl SystemRandom {
    /// The system generator.
    pub fn new() -> Self {
        Self { rng: ring::rand::SystemRandom::new() }
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for SystemRandom {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.rng.fill(dest).map_err(|_| RandomError)
    }
}

/// The system generator for randomness, and the set's keys for JWTs.
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
pub(crate) fn random_32(random: &(impl Random + ?Sized)) -> Result<[u8; 32], RandomError> {
    let mut out = [0u8; 32];
    random.fill_random(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_calendar_right_across_days_and_years() {
        let today = std::cell::Cell::new((u64::MAX, time::Date::MIN));
        // Every hour of 1970 and of 2024 (a leap year), around the turn of 2100 (not a leap
        // year), each with odd seconds and nanoseconds, in order and out of order, so the day
        // remembered is sometimes right and sometimes stale.
        let starts = [0u64, 1_704_067_200, 4_102_444_800 - 3 * 86_400];
        for (step, start) in starts.into_iter().enumerate() {
            for hour in (0..366 * 24).rev().step_by(1 + step) {
                let since =
                    std::time::Duration::new(start + hour * 3600 + hour % 3600, (hour * 7919 % 1_000_000_000) as u32);
                let expected = OffsetDateTime::from_unix_timestamp_nanos(since.as_nanos() as i128).unwrap();
                assert_eq!(utc_from_unix(since, &today), expected, "{since:?}");
                assert_eq!(utc_from_unix(since, &today), expected, "{since:?} with the day remembered");
            }
        }
        let end_of_day = std::time::Duration::new(86_399, 999_999_999);
        assert_eq!(
            utc_from_unix(end_of_day, &today),
            OffsetDateTime::from_unix_timestamp_nanos(86_399_999_999_999).unwrap()
        );
        let beyond = std::time::Duration::new(300_000_000_000, 0);
        assert_eq!(utc_from_unix(beyond, &today), time::PrimitiveDateTime::MAX.assume_utc(), "past year 9999");
        let last = time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp() as u64;
        assert_eq!(utc_from_unix(std::time::Duration::new(last, 0), &today).unix_timestamp() as u64, last);
        let next = std::time::Duration::new(86_400, 0);
        assert_eq!(
            utc_from_unix(next, &today).date(),
            time::Date::from_calendar_date(1970, time::Month::January, 2).unwrap()
        );
    }

    #[test]
    fn the_system_clock_agrees_with_the_time_crates_reading() {
        for _ in 0..3 {
            let before = OffsetDateTime::now_utc();
            let read = SystemClock.now();
            let after = OffsetDateTime::now_utc();
            assert!(before <= read && read <= after, "{before} {read} {after}");
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix(1_700_000_000);
        assert_eq!(c.now().unix_timestamp(), 1_700_000_000);
        c.advance(Duration::seconds(61));
        assert_eq!(c.now().unix_timestamp(), 1_700_000_061);
    }

    #[test]
    fn sec04_system_random_gives_distinct_256_bit_values() {
        let k = SystemRandom::new();
        assert_ne!(random_32(&k).unwrap(), random_32(&k).unwrap());
    }
}
