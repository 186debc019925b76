//! [`Text`]: the storage behind the identifier and scope newtypes.
//!
//! Short text (up to [`INLINE`] bytes) is kept in the value itself and long text is shared.
//! Every grant id the server mints, and most client ids, subjects and scopes, are short, so
//! copying one into a record is a 24-byte copy: no reference count on a line of memory that
//! may be cold (a grant's id is touched once per refresh) or hot on another core (a popular
//! client's id, shared by every request of every thread). Long text is an `Arc<str>`, so a
//! long subject or resource is still stored once per grant.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The longest text kept inline: the most that fits beside the length and the variant's tag
/// in the 24 bytes the shared variant needs anyway. A minted grant id (22 characters) fits.
pub(crate) const INLINE: usize = 22;

/// Text that is inline when short and shared when long. Which one is decided by the length
/// alone, so one text always has one form; comparing and hashing read the bytes, whatever the
/// form.
#[derive(Clone)]
pub(crate) enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Text {
    /// The empty text.
    pub(crate) const EMPTY: Self = Self::Inline { len: 0, bytes: [0; INLINE] };

    /// A copy of `value`: inline when it fits, one allocation otherwise.
    pub(crate) fn new(value: &str) -> Self {
        let source = value.as_bytes();
        match u8::try_from(source.len()) {
            Ok(len) if source.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..source.len()].copy_from_slice(source);
                Self::Inline { len, bytes }
            }
            _ => Self::Shared(Arc::from(value)),
        }
    }

    /// The text's bytes (UTF-8).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Shared(text) => text.as_bytes(),
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Inline bytes are always a whole `&str` copied in `new`, so this never fails; the
            // check is the price of `forbid(unsafe_code)`, a few nanoseconds for 22 bytes.
            Self::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            Self::Shared(text) => text,
        }
    }

    /// Whether the text is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl Hash for Text {
    /// Hashes exactly as `str` does (its bytes, then `0xff`), so a table keyed by these newtypes
    /// spreads keys as it did when they held a `str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    /// Byte order, which is `str`'s order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn hash_of(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn text_of_any_length_reads_back_compares_and_hashes_as_its_str() {
        let long = "x".repeat(INLINE + 1);
        let samples = ["", "a", "héllo wörld", "exactly-22-characters!", long.as_str(), "ünïcödé that is long enough"];
        for sample in samples {
            let text = Text::new(sample);
            assert_eq!(text.as_str(), sample);
            assert_eq!(text.as_bytes(), sample.as_bytes());
            assert_eq!(text.is_empty(), sample.is_empty());
            assert_eq!(hash_of(&text), hash_of(&sample), "{sample:?}");
            assert_eq!(matches!(text, Text::Inline { .. }), sample.len() <= INLINE, "{sample:?}");
            for other in samples {
                assert_eq!(text.cmp(&Text::new(other)), sample.cmp(other), "{sample:?} {other:?}");
                assert_eq!(text.partial_cmp(&Text::new(other)), Some(sample.cmp(other)));
                assert_eq!(text == Text::new(other), sample == other);
            }
        }
        assert_eq!(Text::EMPTY, Text::new(""));
        assert_eq!(format!("{:?}", Text::new("abc")), "\"abc\"");
    }

    #[test]
    fn text_is_no_larger_than_the_shared_string_it_replaces_plus_a_word() {
        assert_eq!(std::mem::size_of::<Text>(), 24);
    }
}
