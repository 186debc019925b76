//! The JWS verifier and the JWT access-token checks on arbitrary and mutated tokens, and the
//! JWKS reader on arbitrary documents.
//!
//! The key set holds one key per algorithm (EdDSA, ES256, RS256), each with one genuine token.
//! The first input byte picks a mode:
//! - even: the rest of the input is the token;
//! - odd: a genuine token with the input's edits applied (byte overwrites, a cut, an insert);
//! - 0xFE: the rest is a claims payload, signed by a trusted key: the claim checks see every
//!   shape and value (dates at the edges of the representable range among them).
//!
//! Invariants: nothing panics; a token that verifies has exactly the signing input
//! (`header.payload` text) of a genuine token, since only the key holder can sign; its claims,
//! when they verify, are the genuine token's. The input read as a JWKS must not panic, and every
//! key it yields must survive `to_jwk` / `from_jwk` unchanged.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oauth21::jose::{self, Algorithm, KeySet, PublicKey, SharedKeySet, SigningKey};
use oauth21::jwt::JwtVerifier;
use oauth21_fuzz::mutate;
use time::OffsetDateTime;

const ISSUER: &str = "https://as.example";
const AUDIENCE: &str = "https://api.example";
const NOW: i64 = 1_700_000_000;

struct Fixture {
    keys: SharedKeySet,
    /// A trusted key that signs whatever claims the input holds (mode 0xFE).
    claims_signer: SigningKey,
    genuine: Vec<String>,
    verifier: JwtVerifier,
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
        let claims = format!(
            r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{AUDIENCE}","client_id":"app","iat":{NOW},"exp":{},"jti":"j","scope":"read"}}"#,
            NOW + 3600
        );
        let genuine = signers.iter().map(|k| jose::sign(k, "at+jwt", claims.as_bytes()).unwrap()).collect();
        let mut set = KeySet::new();
        for signer in signers {
            set.publish(signer).unwrap();
        }
        let claims_signer = SigningKey::generate(Algorithm::EdDSA, "claims").unwrap();
        set.publish_public(claims_signer.public_key().clone()).unwrap();
        let keys = SharedKeySet::new(set);
        let verifier = JwtVerifier::new(keys.clone(), ISSUER, AUDIENCE);
        Fixture { keys, claims_signer, genuine, verifier }
    })
}

fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(input, _)| input)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode == 0xFE {
        // Signed by a trusted key: whatever the claims, the verifier judges them without panic.
        let token = jose::sign(&f.claims_signer, "at+jwt", rest).unwrap();
        if let Ok(claims) = f.verifier.verify(&token, now) {
            assert!(claims.expires_at > now - time::Duration::seconds(30));
        }
        return;
    }
    let bytes = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let genuine = &f.genuine[usize::from(mode / 2) % f.genuine.len()];
        mutate(genuine, rest)
    };
    let token = String::from_utf8_lossy(&bytes);
    let snapshot = f.keys.snapshot();
    if let Ok(verified) = jose::verify(&snapshot, &token, now) {
        let genuine = f.genuine.iter().find(|g| signing_input(g) == signing_input(&token));
        let genuine = genuine.unwrap_or_else(|| panic!("a token no key signed verified: {token:?}"));
        assert_eq!(verified.kid, jose::verify(&snapshot, genuine, now).unwrap().kid);
    }
    if let Ok(claims) = f.verifier.verify(&token, now) {
        assert!(f.genuine.iter().any(|g| signing_input(g) == signing_input(&token)));
        assert_eq!((claims.subject.as_str(), claims.jwt_id.as_str()), ("alice", "j"));
    }
    if let Ok(set) = KeySet::from_jwks(data) {
        for (kid, _) in set.states() {
            let key = set.verification_key(kid, now).unwrap();
            assert_eq!(&PublicKey::from_jwk(&key.to_jwk()).unwrap(), key);
        }
    }
});
