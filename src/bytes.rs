//! Scanning bytes: a machine word at a time, or through a table of the bytes allowed. Used by
//! the form and JSON code, the token checks and the in-memory store's hasher alike.

/// A set of bytes as a table, so a check is one load per byte instead of a chain of ranges.
pub(crate) struct ByteSet([bool; 256]);

impl ByteSet {
    /// ASCII letters and digits, and `extra`.
    pub(crate) const fn alphanumeric_and(extra: &[u8]) -> Self {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = (b as u8).is_ascii_alphanumeric();
            b += 1;
        }
        let mut i = 0;
        while i < extra.len() {
            table[extra[i] as usize] = true;
            i += 1;
        }
        Self(table)
    }

    /// How many of the first bytes of `bytes` are in the set.
    pub(crate) fn leading(&self, bytes: &[u8]) -> usize {
        bytes.iter().position(|&b| !self.0[usize::from(b)]).unwrap_or(bytes.len())
    }

    /// Whether every byte of `bytes` is in the set.
    pub(crate) fn contains_all(&self, bytes: &[u8]) -> bool {
        // No early exit: the texts checked are short and nearly always valid.
        bytes.iter().fold(true, |all, &b| all & self.0[usize::from(b)])
    }
}

/// What `application/x-www-form-urlencoded` leaves as it is (the WHATWG URL standard's
/// urlencoded serializer): letters, digits and `*-._`.
pub(crate) const FORM_UNRESERVED: ByteSet = ByteSet::alphanumeric_and(b"*-._");

/// The base64url alphabet (RFC 4648 §5), without padding: the server's own tokens, codes and
/// request ids, and JWK thumbprints.
pub(crate) const BASE64URL: ByteSet = ByteSet::alphanumeric_and(b"-_");

/// The bytes of `bytes` past its last whole eight, as one little-endian word whose missing high
/// bytes are `pad`. Built from loads of the tail itself: copying the tail into an eight-byte
/// buffer and loading that stalls on store forwarding, which cost more than the rest of a
/// short string's scan.
pub(crate) fn tail_word(bytes: &[u8], pad: u8) -> u64 {
    let tail = &bytes[bytes.len() - bytes.len() % 8..];
    let n = tail.len();
    // Two loads that may overlap cover every length; an overlapping byte is the same byte.
    let word = if n >= 4 {
        let low = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let high = u32::from_le_bytes([tail[n - 4], tail[n - 3], tail[n - 2], tail[n - 1]]);
        u64::from(low) | u64::from(high) << (8 * (n - 4))
    } else if n >= 2 {
        let low = u16::from_le_bytes([tail[0], tail[1]]);
        let high = u16::from_le_bytes([tail[n - 2], tail[n - 1]]);
        u64::from(low) | u64::from(high) << (8 * (n - 2))
    } else if n == 1 {
        u64::from(tail[0])
    } else {
        0
    };
    let padding = u64::from_le_bytes([pad; 8]);
    // n < 8, so the shift is in range and keeps the bytes read.
    word | padding << (8 * n)
}

/// The whole eight-byte words of `bytes`, little-endian.
pub(crate) fn whole_words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_set_holds_exactly_the_alphanumerics_and_its_extras() {
        for b in 0..=255u8 {
            let base64url = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(BASE64URL.contains_all(&[b'a', b]), base64url, "byte {b}");
            let token68 = ByteSet::alphanumeric_and(b"-._~+/");
            assert_eq!(token68.contains_all(&[b, b'Z']), base64url || b"._~+/".contains(&b), "byte {b}");
        }
        assert!(BASE64URL.contains_all(b""));
    }

    #[test]
    fn leading_counts_the_bytes_before_the_first_outside_the_set() {
        assert_eq!(FORM_UNRESERVED.leading(b""), 0);
        assert_eq!(FORM_UNRESERVED.leading(b"abc"), 3);
        assert_eq!(FORM_UNRESERVED.leading(b"a.b-c_d*e f"), 9);
        assert_eq!(FORM_UNRESERVED.leading(b"/x"), 0);
        assert_eq!(FORM_UNRESERVED.leading("é".as_bytes()), 0);
    }

    #[test]
    fn the_tail_word_holds_the_tail_and_the_padding_in_order() {
        let bytes: Vec<u8> = (1..=23).collect();
        for len in 0..=bytes.len() {
            let input = &bytes[..len];
            let tail = &input[len - len % 8..];
            let mut expected = [0xaa; 8];
            expected[..tail.len()].copy_from_slice(tail);
            assert_eq!(tail_word(input, 0xaa), u64::from_le_bytes(expected), "length {len}");
        }
    }

    #[test]
    fn whole_words_skip_the_tail() {
        let bytes: Vec<u8> = (1..=17).collect();
        let words: Vec<u64> = whole_words(&bytes).collect();
        assert_eq!(
            words,
            [u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]), u64::from_le_bytes([9, 10, 11, 12, 13, 14, 15, 16])]
        );
    }
}
