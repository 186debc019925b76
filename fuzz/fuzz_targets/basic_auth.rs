//! `parse_basic_auth` on arbitrary bytes, and the `basic_auth_header` round trip.
//!
//! The whole input is the header value handed to `parse_basic_auth`: it must not panic, and a
//! pair it accepts must survive `basic_auth_header` and a second parse unchanged. The same
//! bytes, read as two arbitrary strings, must round-trip through `basic_auth_header` and
//! `parse_basic_auth`: exactly, while the header stays within the 4096-byte limit, else as
//! `TooLong`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use oauth21::client::{BasicAuthError, basic_auth_header, parse_basic_auth};

const LIMIT: usize = 4096;

fn round_trip(id: &str, secret: &str) {
    let header = basic_auth_header(id, secret);
    assert!(header.starts_with("Basic "));
    assert!(header.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "header has a control byte");
    match parse_basic_auth(header.as_bytes()) {
        Ok((i, s)) => {
            assert!(header.len() <= LIMIT);
            assert_eq!((i.as_str(), s.as_str()), (id, secret), "round trip changed the pair");
        }
        Err(BasicAuthError::TooLong) => assert!(header.len() > LIMIT, "TooLong for {} bytes", header.len()),
        Err(e) => panic!("basic_auth_header({id:?}, {secret:?}) = {header:?} does not parse: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok((id, secret)) = parse_basic_auth(data) {
        assert!(data.len() <= LIMIT);
        round_trip(&id, &secret);
    }
    let mut u = Unstructured::new(data);
    if let (Ok(id), Ok(secret)) = (<&str>::arbitrary(&mut u), <&str>::arbitrary_take_rest(u)) {
        round_trip(id, secret);
    }
});
