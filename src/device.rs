//! The device authorization grant (RFC 8628; DG-01..DG-04): the pieces the server drives.
//!
//! A device that cannot show a browser (a TV, a CLI, a headless agent) posts to the device
//! authorization endpoint and gets a `device_code` (its secret, 256 bits, stored as a digest)
//! and a `user_code` for a person to type at the verification page on another device. The host's
//! page finds the request by the user code ([`Server::device_verification`](crate::Server::device_verification)),
//! the person signs in and approves or denies it, and the device, polling the token endpoint,
//! gets its tokens once.
//!
//! # User codes and guessing
//!
//! A user code is 8 letters from a 20-letter alphabet without vowels (so no words form, and no
//! `0`/`O` or `1`/`I` confusion): 20^8, about 2^34.6 codes, shown as `XXXX-XXXX`. Entry is
//! normalised (case, dashes and spaces ignored). That space is small enough that guessing must be
//! throttled: every wrong entry counts against the source the host names (an address, a
//! session), at most [`MAX_USER_CODE_FAILURES`] per [`USER_CODE_WINDOW`] in the server's
//! built-in limiter, plus whatever [`Hooks::allow_user_code_attempt`](crate::hooks::Hooks::allow_user_code_attempt)
//! decides (a limiter shared by every instance, a global cap). A success resets nothing: one
//! user's correct code never clears another's failures, nor the guesser's own. With 10 live
//! requests and 10 guesses per source per 15 minutes, one source finds a live code with a chance
//! of about one in 250 million per window; the host's hook is where a botnet's many sources
//! are capped.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::http::Response;
use crate::types::{TokenHash, encode_token};

/// The letters of a user code: no vowels (no words), no look-alikes of digits.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code.
pub const USER_CODE_LENGTH: usize = 8;

/// Wrong user-code entries one source may make per [`USER_CODE_WINDOW`] before it is refused.
pub const MAX_USER_CODE_FAILURES: u32 = 10;

/// The window of the built-in user-code limiter.
pub const USER_CODE_WINDOW: Duration = Duration::minutes(15);

/// How many sources the built-in limiter tracks at once; beyond it, a new source is refused until
/// windows end (fail closed: a flood of sources must not evict the guessers it is counting).
const MAX_TRACKED_SOURCES: usize = 100_000;

/// What the device authorization endpoint reads: the client's authentication, `scope`, and
/// `resource` (repeatable).
pub(crate) const DEFINED: [&str; 5] =
    ["client_id", "client_secret", "client_assertion", "client_assertion_type", "scope"];

/// A user code from `random` (at least [`USER_CODE_LENGTH`] bytes are used, drawing more from
/// `more` when a byte falls outside the largest multiple of 20, so every letter is uniform).
pub(crate) fn user_code(mut next_byte: impl FnMut() -> Option<u8>) -> Option<String> {
    let mut code = String::with_capacity(USER_CODE_LENGTH + 1);
    let mut letters = 0;
    while letters < USER_CODE_LENGTH {
        let byte = next_byte()?;
        // 240 = 12 * 20: bytes at or above it would favour the first 16 letters.
        if byte >= 240 {
            continue;
        }
        if letters == USER_CODE_LENGTH / 2 {
            code.push('-');
        }
        code.push(USER_CODE_ALPHABET[usize::from(byte % 20)] as char);
        letters += 1;
    }
    Some(code)
}

/// The user code as typed, normalised (DG-03): letters upper-cased, dashes and whitespace
/// dropped; `None` unless exactly [`USER_CODE_LENGTH`] letters of the alphabet remain.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String =
        typed.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let valid = code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The digest a normalised user code is stored under: domain-separated from every other digest.
pub(crate) fn user_code_digest(normalized: &str) -> TokenHash {
    let mut hasher = Sha256::new();
    hasher.update(b"user-code\0");
    hasher.update(normalized.as_bytes());
    TokenHash::from_bytes(hasher.finalize().into())
}

/// `XXXX-XXXX` from a normalised code.
pub(crate) fn display(normalized: &str) -> String {
    let (left, right) = normalized.split_at(USER_CODE_LENGTH / 2);
    format!("{left}-{right}")
}

/// The device authorization answer (DG-01): 200, JSON, `no-store`.
pub(crate) fn answer(
    device_code: &[u8],
    user_code: &str,
    verification_uri: &str,
    lifetime: Duration,
    interval: Duration,
) -> Response {
    let complete = format!("{verification_uri}?user_code={user_code}");
    let body = serde_json::json!({
        "device_code": encode_token(device_code),
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": lifetime.whole_seconds(),
        "interval": interval.whole_seconds(),
    });
    Response::json(200, body.to_string().into_bytes())
}

/// The built-in limiter of wrong user-code entries, per source (DG-03). In memory, per server
/// instance: several instances multiply what one source may try, which a shared limiter behind
/// [`Hooks::allow_user_code_attempt`](crate::hooks::Hooks::allow_user_code_attempt) closes.
#[derive(Debug, Default)]
pub(crate) struct UserCodeLimiter {
    sources: Mutex<HashMap<String, (OffsetDateTime, u32)>>,
}

impl UserCodeLimiter {
    /// Whether `source` may try a code at `now`.
    pub(crate) fn allows(&self, source: &str, now: OffsetDateTime) -> bool {
        let mut sources = self.sources.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match sources.get(source) {
            Some((start, failures)) if now < *start + USER_CODE_WINDOW => *failures < MAX_USER_CODE_FAILURES,
            Some(_) => {
                sources.remove(source);
                true
            }
            None => {
                if sources.len() >= MAX_TRACKED_SOURCES {
                    sources.retain(|_, (start, _)| now < *start + USER_CODE_WINDOW);
                }
                sources.len() < MAX_TRACKED_SOURCES
            }
        }
    }

    /// Counts a wrong entry by `source` at `now`; successes are never counted, nor reset it.
    pub(crate) fn failed(&self, source: &str, now: OffsetDateTime) {
        let mut sources = self.sources.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = sources.entry(source.to_owned()).or_insert((now, 0));
        if now >= entry.0 + USER_CODE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dg01_user_codes_are_eight_uniform_letters_without_vowels() {
        let mut bytes = [0u8, 19, 20, 239, 240, 255, 1, 2, 3, 4].into_iter();
        let code = user_code(|| bytes.next()).unwrap();
        assert_eq!(code, "BZBZ-CDFG");
        for vowel in [b'A', b'E', b'I', b'O', b'U', b'Y'] {
            assert!(!USER_CODE_ALPHABET.contains(&vowel));
        }
        let mut short = [1u8; 3].into_iter();
        assert_eq!(user_code(|| short.next()), None, "a random source that runs dry gives no code");
    }

    #[test]
    fn dg03_entry_is_normalised_for_case_dashes_and_spaces() {
        assert_eq!(normalize_user_code("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code(" BCDF GHJK ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code("b-c-d-f-g-h-j-k").as_deref(), Some("BCDFGHJK"));
        for bad in ["BCDF-GHJ", "BCDF-GHJKL", "ACDF-GHJK", "BCDF-GHJ1", "", "ßCDF-GHJK"] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn dg03_the_limiter_counts_per_source_and_a_success_resets_nothing() {
        let limiter = UserCodeLimiter::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..MAX_USER_CODE_FAILURES {
            assert!(limiter.allows("guesser", t0));
            limiter.failed("guesser", t0);
        }
        assert!(!limiter.allows("guesser", t0));
        assert!(limiter.allows("someone else", t0), "one source's failures are its own");
        assert!(!limiter.allows("guesser", t0 + USER_CODE_WINDOW - Duration::seconds(1)));
        assert!(limiter.allows("guesser", t0 + USER_CODE_WINDOW), "the window ends");
    }
}
