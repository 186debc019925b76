//! [`UserspaceRandom`]: the default generator. ChaCha20 with fast key erasure, seeded and
//! reseeded from the operating system, so a token costs a short copy instead of a system call.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::SecureRandom as _;

use super::{Random, RandomError};

/// Keystream made per refill. The first [`KEY_LEN`] bytes become the next key; the rest is
/// served. About 30 tokens per refill: a refill costs less than one system call.
const BLOCK: usize = 1024;
const KEY_LEN: usize = 32;
/// Refills between two reseeds from the operating system: fresh entropy every 1 MiB of output.
const RESEED_EVERY: u32 = 1024;

/// A cryptographically secure generator in userspace, seeded from the operating system: the
/// default of [`Server::new`](crate::Server::new).
///
/// A system call per token costs more than the rest of a bearer check, so this generator asks
/// the operating system (through `ring`) only for its seeds, and expands them with ChaCha20:
///
/// - **Fast key erasure.** Each refill encrypts a zeroed 1 KiB block under the current key. The
///   block's first 32 bytes replace the key at once and the rest is served, each byte wiped as it
///   is handed out. Memory read after the fact therefore reveals neither earlier output nor the
///   keys that made it (backtracking resistance); the Linux kernel's generator is built the same
///   way. Every key encrypts exactly one block, so the fixed nonce is never reused under a key.
/// - **Reseeding.** Every 1 MiB of output, and whenever [`reseed`](Self::reseed) is called,
///   32 fresh bytes from the operating system are mixed into the key (XOR with the keystream's
///   next key), so a state that leaked once stops predicting output at the next reseed.
/// - **Fork.** A forked child starts with a copy of its parent's state. The generator compares
///   the process id at every refill and reseeds when it changed, but bytes already buffered at
///   the fork (up to 1 KiB) would be served in both processes: **a host that forks after the
///   generator has been used MUST call [`reseed`](Self::reseed) in each child before it serves**
///   (or build the server in the child). docs/security.md says more.
/// - **Failure.** If the operating system cannot supply a seed, [`fill_random`](Random::fill_random)
///   fails (the request gets `server_error`) and the reseed is tried again at the next call;
///   it never serves output from an unseeded state.
///
/// One generator serves all of a server's requests from eight independent streams, each
/// seeded from the operating system on its own and kept behind its own lock on its own cache
/// line. A thread draws from a stream of its own choosing and moves on to the next free one if
/// another thread holds it, so threads that make tokens at once do not wait for each other.
/// Every stream follows all the rules above; [`reseed`](Self::reseed) reseeds them all.
///
/// ```
/// use oauth21::provider::{Random, UserspaceRandom};
///
/// let random = UserspaceRandom::new();
/// let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
/// random.fill_random(&mut a)?;
/// random.fill_random(&mut b)?;
/// assert_ne!(a, b);
/// # Ok::<(), oauth21::provider::RandomError>(())
/// ```
pub struct UserspaceRandom {
    streams: Box<[Stream]>,
    os: ring::rand::SystemRandom,
}

/// How many independent streams a [`UserspaceRandom`] keeps: more than the threads that
/// usually make tokens at the same moment, each about 1 KiB.
const STREAMS: usize = 8;

#[repr(align(64))]
struct Stream(Mutex<Option<State>>);

impl Stream {
    fn lock(&self) -> MutexGuard<'_, Option<State>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Threads take stream numbers in turn, so the first [`STREAMS`] threads each have their own.
static NEXT_HOME: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's first choice of stream; `usize::MAX` until it first draws.
    static HOME: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The stream this thread tries first.
fn home() -> usize {
    HOME.with(|home| {
        if home.get() == usize::MAX {
            home.set(stream_for(NEXT_HOME.fetch_add(1, Ordering::Relaxed)));
        }
        home.get()
    })
}

/// The stream of the thread that took `ticket`: round robin.
fn stream_for(ticket: usize) -> usize {
    ticket % STREAMS
}

impl std::fmt::Debug for UserspaceRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The states are the secret; only say how many streams are seeded.
        let seeded = self.streams.iter().filter(|s| s.lock().is_some()).count();
        f.debug_struct("UserspaceRandom").field("seeded_streams", &seeded).finish_non_exhaustive()
    }
}

struct State {
    key: [u8; KEY_LEN],
    block: [u8; BLOCK],
    /// Bytes of `block` already served (or taken for the key).
    served: usize,
    refills: u32,
    pid: u32,
}

impl UserspaceRandom {
    /// A generator that seeds itself from the operating system at its first use.
    pub fn new() -> Self {
        let streams = (0..STREAMS).map(|_| Stream(Mutex::new(None))).collect();
        Self { streams, os: ring::rand::SystemRandom::new() }
    }

    /// Mixes 32 fresh bytes from the operating system into every stream's key now and drops
    /// what is buffered. Call it in a forked child before it serves.
    pub fn reseed(&self) -> Result<(), RandomError> {
        for stream in self.streams.iter() {
            let mut state = stream.lock();
            match state.as_mut() {
                Some(state) => state.reseed(&self.os)?,
                None => *state = Some(State::seeded(&self.os)?),
            }
        }
        Ok(())
    }

    /// This thread's stream if it is free, else the next free one, else (every stream busy)
    /// a wait for this thread's own.
    fn stream(&self) -> MutexGuard<'_, Option<State>> {
        let first = home();
        for offset in 0..STREAMS {
            match self.streams[(first + offset) % STREAMS].0.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            }
        }
        self.streams[first].lock()
    }
}

impl Default for UserspaceRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for UserspaceRandom {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut guard = self.stream();
        let state = match guard.as_mut() {
            Some(state) => state,
            None => guard.insert(State::seeded(&self.os)?),
        };
        state.fill(dest, &self.os)
    }
}

impl State {
    fn seeded(os: &ring::rand::SystemRandom) -> Result<Self, RandomError> {
        let mut key = [0u8; KEY_LEN];
        os.fill(&mut key).map_err(|_| RandomError)?;
        let mut state = Self { key, block: [0; BLOCK], served: BLOCK, refills: 0, pid: std::process::id() };
        state.refill()?;
        Ok(state)
    }

    fn fill(&mut self, dest: &mut [u8], os: &ring::rand::SystemRandom) -> Result<(), RandomError> {
        let mut filled = 0;
        while filled < dest.len() {
            if self.served == BLOCK {
                if self.refills >= RESEED_EVERY || self.pid != std::process::id() {
                    self.reseed(os)?;
                } else {
                    self.refill()?;
                }
            }
            let take = (dest.len() - filled).min(BLOCK - self.served);
            let source = &mut self.block[self.served..self.served + take];
            dest[filled..filled + take].copy_from_slice(source);
            source.fill(0);
            self.served += take;
            filled += take;
        }
        Ok(())
    }

    /// Fresh OS bytes XORed into the next key, then a refill under it.
    fn reseed(&mut self, os: &ring::rand::SystemRandom) -> Result<(), RandomError> {
        let mut fresh = [0u8; KEY_LEN];
        os.fill(&mut fresh).map_err(|_| RandomError)?;
        for (k, f) in self.key.iter_mut().zip(fresh) {
            *k ^= f;
        }
        self.block.fill(0);
        self.served = BLOCK;
        self.refills = 0;
        self.pid = std::process::id();
        self.refill()
    }

    /// Encrypts a zeroed block under the key (the ChaCha20 keystream), takes the next key from
    /// its start and wipes it there.
    fn refill(&mut self) -> Result<(), RandomError> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, &self.key).map_err(|_| RandomError)?;
        self.block.fill(0);
        // Each key encrypts this one block and is then replaced, so a constant nonce is unique
        // per key.
        // The tag authenticates nothing here: only the keystream is wanted.
        let _tag = LessSafeKey::new(key)
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut self.block)
            .map_err(|_| RandomError)?;
        self.key.copy_from_slice(&self.block[..KEY_LEN]);
        self.block[..KEY_LEN].fill(0);
        self.served = KEY_LEN;
        self.refills += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_never_repeats_across_refills_and_reseeds() {
        let random = UserspaceRandom::new();
        let mut seen = std::collections::HashSet::new();
        // Enough 32-byte draws to cross more than one reseed (1 MiB).
        for i in 0..40_000 {
            let mut token = [0u8; 32];
            random.fill_random(&mut token).unwrap();
            assert!(seen.insert(token), "repeated output at draw {i}");
            if i == 20_000 {
                random.reseed().unwrap();
            }
        }
    }

    #[test]
    fn served_bytes_and_old_keys_are_wiped_from_the_state() {
        let random = UserspaceRandom::new();
        let mut first = [0u8; 32];
        random.fill_random(&mut first).unwrap();
        let guard = random.streams[home()].lock();
        let state = guard.as_ref().unwrap();
        assert!(state.block[..state.served].iter().all(|&b| b == 0), "served bytes left in the buffer");
        assert!(!state.block.windows(32).any(|w| w == first), "served output still in memory");
    }

    #[test]
    fn threads_drawing_at_once_never_see_the_same_output_and_a_reseed_reaches_every_stream() {
        let random = UserspaceRandom::new();
        let draws: Vec<Vec<[u8; 32]>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2 * STREAMS)
                .map(|_| {
                    s.spawn(|| {
                        (0..2_000)
                            .map(|_| {
                                let mut token = [0u8; 32];
                                random.fill_random(&mut token).unwrap();
                                token
                            })
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let all: std::collections::HashSet<[u8; 32]> = draws.iter().flatten().copied().collect();
        assert_eq!(all.len(), 2 * STREAMS * 2_000, "some output was served twice");
        random.reseed().unwrap();
        for stream in random.streams.iter() {
            let state = stream.lock();
            let state = state.as_ref().expect("every stream is seeded after a reseed");
            assert_eq!((state.refills, state.served), (1, KEY_LEN), "a reseed refills at once");
        }
    }

    #[test]
    fn threads_that_start_drawing_one_after_another_first_try_different_streams() {
        let homes: Vec<usize> = (0..STREAMS).map(|_| std::thread::spawn(home).join().unwrap()).collect();
        let distinct: std::collections::HashSet<usize> = homes.iter().copied().collect();
        // Threads of tests running alongside may take numbers in between, so not all eight
        // need differ; without the round robin, none would.
        assert!(distinct.len() >= STREAMS / 2, "{homes:?}");
        assert!(homes.iter().all(|&h| h < STREAMS));
        assert_eq!(home(), home(), "a thread keeps its stream");
        let round: Vec<usize> = (0..2 * STREAMS).map(stream_for).collect();
        assert_eq!(round, (0..STREAMS).chain(0..STREAMS).collect::<Vec<_>>(), "tickets go round the streams");
    }

    #[test]
    fn a_busy_stream_sends_the_draw_to_the_next_one_and_debug_shows_no_state() {
        let random = UserspaceRandom::new();
        assert_eq!(format!("{random:?}"), "UserspaceRandom { seeded_streams: 0, .. }");
        let own = home();
        let held = random.streams[own].lock();
        let mut token = [0u8; 32];
        random.fill_random(&mut token).unwrap();
        drop(held);
        assert!(random.streams[(own + 1) % STREAMS].lock().is_some(), "the next stream served");
        assert!(random.streams[own].lock().is_none(), "the held one was not waited for");
        assert_eq!(format!("{random:?}"), "UserspaceRandom { seeded_streams: 1, .. }");
    }

    #[test]
    fn requests_longer_than_a_block_are_filled_entirely() {
        let random = UserspaceRandom::new();
        let mut long = vec![0u8; 3 * BLOCK + 7];
        random.fill_random(&mut long).unwrap();
        // No 32-byte run of zeros: every part of the request was written.
        assert!(long.chunks(32).all(|c| c.iter().any(|&b| b != 0)));
    }

    #[test]
    fn output_bytes_are_balanced() {
        // A crude bias check: over 256 KiB each bit is set about half the time.
        let random = UserspaceRandom::new();
        let mut bytes = vec![0u8; 256 * 1024];
        random.fill_random(&mut bytes).unwrap();
        let ones: u64 = bytes.iter().map(|b| u64::from(b.count_ones())).sum();
        let bits = bytes.len() as f64 * 8.0;
        assert!((ones as f64 / bits - 0.5).abs() < 0.002, "bit balance {}", ones as f64 / bits);
    }
}
