//! DPoP proof verification (`oauth21::dpop::verify`) on arbitrary and mutated proofs.
//!
//! The fixture holds genuine proofs, one per algorithm, each signed by a key generated (or, for
//! RSA, loaded) here. The first input byte picks a mode:
//! - even: the rest of the input is the `DPoP` header value;
//! - odd: a genuine proof with the input's edits applied (byte overwrites, a cut, an insert);
//! - 0xFE: the rest is a claims payload, signed here by the ES256 key in its header, so the
//!   claim checks see every shape and value.
//!
//! Invariants: nothing panics; a proof that verifies in the first two modes has exactly the
//! signing input of a genuine proof (only the key holders can sign), so its thumbprint is one of
//! the fixture's; every verified proof names the target's method and URL.
#![no_main]

use std::future::Future;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use oauth21::dpop::{self, ProofTarget};
use oauth21::jose::{Algorithm, JwtSigner, KeySet, SignerKey, SigningKey};
use oauth21_fuzz::mutate;
use time::{Duration, OffsetDateTime};

const URL: &str = "https://as.example/token";
const NOW: i64 = 1_700_000_000;

struct Fixture {
    keys: Vec<(KeySet, SignerKey)>,
    genuine: Vec<String>,
    thumbprints: Vec<String>,
}

/// Polls a ready future (an in-memory signer's) to its value.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A `dpop+jwt` compact JWS of `claims`, signed by the set's key, its public JWK in the header.
fn proof(set: &KeySet, key: &SignerKey, claims: &[u8]) -> String {
    let jwk = set.signing_key().expect("an active key").public_key().to_jwk();
    let header = serde_json::json!({ "typ": "dpop+jwt", "alg": key.alg.name(), "jwk": jwk });
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims));
    let signature = ready(set.sign(key, input.as_bytes())).expect("the fixture key signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rsa = include_bytes!("../../tests/keys/rsa2048.pk8.der");
        let signers = [
            SigningKey::generate(Algorithm::EdDSA, "ed").unwrap(),
            SigningKey::generate(Algorithm::ES256, "ec").unwrap(),
            SigningKey::from_pkcs8_der(Algorithm::RS256, "rsa", rsa).unwrap(),
        ];
        let claims = format!(r#"{{"jti":"j","htm":"POST","htu":"{URL}","iat":{NOW}}}"#);
        let mut keys = Vec::new();
        let mut genuine = Vec::new();
        let mut thumbprints = Vec::new();
        for signer in signers {
            thumbprints.push(signer.public_key().thumbprint());
            let key = SignerKey::new(signer.kid(), signer.algorithm());
            let set = KeySet::with_active(signer);
            genuine.push(proof(&set, &key, claims.as_bytes()));
            keys.push((set, key));
        }
        Fixture { keys, genuine, thumbprints }
    })
}

fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(input, _)| input)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let target = ProofTarget::new("POST", URL);
    let window = Duration::seconds(60);
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode == 0xFE {
        let (set, key) = &f.keys[1];
        let token = proof(set, key, rest);
        if let Ok(verified) = dpop::verify(token.as_bytes(), &target, now, window) {
            assert_eq!(verified.jkt, f.thumbprints[1]);
            assert_eq!(verified.htm, "POST");
            assert_eq!(dpop::normalize_htu(&verified.htu), dpop::normalize_htu(URL));
            assert!((verified.iat - now).abs() <= window);
        }
        return;
    }
    let bytes =
        if mode % 2 == 0 { rest.to_vec() } else { mutate(&f.genuine[usize::from(mode / 2) % f.genuine.len()], rest) };
    if let Ok(verified) = dpop::verify(&bytes, &target, now, window) {
        let token = String::from_utf8(bytes).expect("a verified proof is UTF-8");
        let genuine = f.genuine.iter().position(|g| signing_input(g) == signing_input(&token));
        let index = genuine.unwrap_or_else(|| panic!("a proof no fixture key signed verified: {token:?}"));
        assert_eq!(verified.jkt, f.thumbprints[index]);
    }
});
