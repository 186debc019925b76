//! DPoP proof verification (RFC 9449): the RFC's own example proofs, proofs made by an
//! independent JOSE implementation (`jsonwebtoken`) for every algorithm, and each refusal the
//! checklist names (DP-01, DP-02, DP-08, DP-09, DP-11, DP-13; bad-input class 14).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Key;
use jsonwebtoken::Header;
use oauth21::dpop::{self, DpopError, NonceKey, ProofTarget};
use oauth21::jose::{Algorithm, JoseError, SigningKey};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// RFC 9449 figure 3: a token request proof, `iat` 1562262616.
const RFC_TOKEN_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// RFC 9449 figure 5: the refresh request proof, `iat` 1562265296.
const RFC_REFRESH_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjY1Mjk2fQ.pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5QsGSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA";
/// RFC 9449 figure 13: a resource request proof with `ath`, `iat` 1562262618.
const RFC_RESOURCE_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const RFC_ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
const TOKEN_URL: &str = "https://server.example.com/token";

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

const WINDOW: Duration = Duration::seconds(60);

#[test]
fn dp01_rfc9449_example_proofs_verify_at_their_iat() {
    let target = ProofTarget::new("POST", TOKEN_URL);
    for (proof, iat) in [(RFC_TOKEN_PROOF, 1_562_262_616), (RFC_REFRESH_PROOF, 1_562_265_296)] {
        let verified = dpop::verify(proof.as_bytes(), &target, at(iat), WINDOW).unwrap();
        assert_eq!(verified.jkt, RFC_JKT);
        assert_eq!(verified.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(verified.htu, TOKEN_URL);
        assert_eq!(verified.iat, at(iat));
    }
    let resource = ProofTarget::new("GET", "https://resource.example.org/protectedresource");
    let verified = dpop::verify(RFC_RESOURCE_PROOF.as_bytes(), &resource, at(1_562_262_618), WINDOW).unwrap();
    assert_eq!(verified.jkt, RFC_JKT);
    dpop::check_access_token_hash(&verified, RFC_ACCESS_TOKEN).unwrap();
}

#[test]
fn dp11_the_rfc9449_ath_vector_and_a_proof_for_another_token() {
    assert_eq!(dpop::access_token_hash(RFC_ACCESS_TOKEN), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    let resource = ProofTarget::new("GET", "https://resource.example.org/protectedresource");
    let verified = dpop::verify(RFC_RESOURCE_PROOF.as_bytes(), &resource, at(1_562_262_618), WINDOW).unwrap();
    assert_eq!(dpop::check_access_token_hash(&verified, "another-token"), Err(DpopError::AccessTokenHash));
    // A proof without ath cannot vouch for any token.
    let token_proof =
        dpop::verify(RFC_TOKEN_PROOF.as_bytes(), &ProofTarget::new("POST", TOKEN_URL), at(1_562_262_616), WINDOW)
            .unwrap();
    assert_eq!(dpop::check_access_token_hash(&token_proof, RFC_ACCESS_TOKEN), Err(DpopError::AccessTokenHash));
}

fn keys() -> Vec<Key> {
    common::keys("k")
}

/// The public JWK a client puts in its proof: no `kid`, `alg` or `use`, as clients commonly send.
fn public_jwk(key: &Key) -> Value {
    let mut jwk = key.ours.public_key().to_jwk();
    for member in ["kid", "alg", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    jwk
}

/// A proof signed by `jsonwebtoken` with `claims`.
fn their_proof(key: &Key, claims: &Value) -> String {
    let alg = key.their_alg();
    let mut header = Header::new(alg);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_value(public_jwk(key)).unwrap());
    jsonwebtoken::encode(&header, claims, &key.theirs).unwrap()
}

/// A compact JWS with exactly `header` and `payload`, signed by the ES256 key `ec` through ring
/// directly: a forger holding a real key, so only the verifier's rules stand in the way.
fn forge(ec: &[u8], header: &Value, payload: &Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec, &rng).unwrap();
    let signature = pair.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

fn claims(now: i64) -> Value {
    json!({ "jti": "j-1", "htm": "POST", "htu": TOKEN_URL, "iat": now })
}

#[test]
fn dp01_proofs_from_an_independent_implementation_verify_for_every_algorithm() {
    let now = 1_700_000_000;
    for key in keys() {
        let proof = their_proof(&key, &claims(now));
        let verified = dpop::verify(proof.as_bytes(), &ProofTarget::new("POST", TOKEN_URL), at(now), WINDOW)
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg));
        assert_eq!(verified.jkt, key.ours.public_key().thumbprint(), "{}", key.alg);
    }
}

#[test]
fn dp01_missing_or_mistyped_claims_are_refused() {
    let now = 1_700_000_000;
    let key = &keys()[1];
    let target = ProofTarget::new("POST", TOKEN_URL);
    for (case, claims) in [
        ("no jti", json!({ "htm": "POST", "htu": TOKEN_URL, "iat": now })),
        ("empty jti", json!({ "jti": "", "htm": "POST", "htu": TOKEN_URL, "iat": now })),
        ("numeric jti", json!({ "jti": 7, "htm": "POST", "htu": TOKEN_URL, "iat": now })),
        ("no htm", json!({ "jti": "j", "htu": TOKEN_URL, "iat": now })),
        ("no htu", json!({ "jti": "j", "htm": "POST", "iat": now })),
        ("no iat", json!({ "jti": "j", "htm": "POST", "htu": TOKEN_URL })),
        ("string iat", json!({ "jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": now.to_string() })),
        ("float iat", json!({ "jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": 1.7e9 })),
        ("long jti", json!({ "jti": "j".repeat(300), "htm": "POST", "htu": TOKEN_URL, "iat": now })),
    ] {
        let proof = their_proof(key, &claims);
        assert!(
            matches!(dpop::verify(proof.as_bytes(), &target, at(now), WINDOW), Err(DpopError::Malformed(_))),
            "{case}"
        );
    }
    // The header must be typ dpop+jwt.
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &ring::rand::SystemRandom::new()).unwrap();
    let ours = SigningKey::from_pkcs8_der(Algorithm::ES256, "k", ec.as_ref()).unwrap();
    let jwk = ours.public_key().to_jwk();
    for typ in [json!("JWT"), json!("at+jwt"), Value::Null] {
        let proof = forge(ec.as_ref(), &json!({ "typ": typ, "alg": "ES256", "jwk": jwk }), &claims(now));
        assert!(matches!(
            dpop::verify(proof.as_bytes(), &target, at(now), WINDOW),
            Err(DpopError::Jose(JoseError::HeaderRefused(_)))
        ));
    }
    // Not a JWS at all, or two of them.
    for junk in ["", "a.b", "a.b.c.d", &format!("{RFC_TOKEN_PROOF},{RFC_TOKEN_PROOF}")] {
        assert!(dpop::verify(junk.as_bytes(), &target, at(1_562_262_616), WINDOW).is_err(), "{junk}");
    }
    assert!(dpop::verify(&[0xff, 0xfe], &target, at(now), WINDOW).is_err());
}

/// Class 14: a `jti` is kept (as part of the replay key) only up to 256 bytes: exactly 256
/// verifies, 257 is refused.
#[test]
fn dp10_a_jti_of_exactly_the_limit_verifies_and_one_byte_more_is_refused() {
    let now = 1_700_000_000;
    let key = &keys()[1];
    let target = ProofTarget::new("POST", TOKEN_URL);
    let proof = |jti: String| their_proof(key, &json!({ "jti": jti, "htm": "POST", "htu": TOKEN_URL, "iat": now }));
    let at_limit = dpop::verify(proof("j".repeat(256)).as_bytes(), &target, at(now), WINDOW);
    assert_eq!(at_limit.expect("256 bytes is within the limit").jti.len(), 256);
    assert!(matches!(
        dpop::verify(proof("j".repeat(257)).as_bytes(), &target, at(now), WINDOW),
        Err(DpopError::Malformed("jti is too long"))
    ));
}

/// DP-08 and class 14: `none`, HMAC, a JWK with private members, a key URL, and an `alg` that
/// is not the key's are refused, even when the signature is real.
#[test]
fn dp08_none_hmac_private_jwks_and_foreign_algs_are_refused() {
    let now = 1_700_000_000;
    let target = ProofTarget::new("POST", TOKEN_URL);
    let rng = ring::rand::SystemRandom::new();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ours = SigningKey::from_pkcs8_der(Algorithm::ES256, "k", ec.as_ref()).unwrap();
    let jwk = ours.public_key().to_jwk();
    let refused = |header: Value| {
        let proof = forge(ec.as_ref(), &header, &claims(now));
        dpop::verify(proof.as_bytes(), &target, at(now), WINDOW).unwrap_err()
    };
    for alg in ["none", "HS256", "RS256", "EdDSA", "PS256", "ES384", "es256"] {
        let error = refused(json!({ "typ": "dpop+jwt", "alg": alg, "jwk": jwk }));
        assert!(matches!(error, DpopError::Jose(JoseError::HeaderRefused(_))), "{alg}: {error:?}");
    }
    // A private key member in the jwk: refused, whatever else is right.
    for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let mut private = jwk.clone();
        private[member] = json!("AAAA");
        let error = refused(json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": private }));
        assert!(matches!(error, DpopError::Jose(JoseError::InvalidJwk(_))), "{member}: {error:?}");
    }
    // A symmetric key, no key, a key URL, a critical extension.
    let error = refused(json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": { "kty": "oct", "k": "c2VjcmV0" } }));
    assert!(matches!(error, DpopError::Jose(JoseError::InvalidJwk(_))), "{error:?}");
    assert!(matches!(
        refused(json!({ "typ": "dpop+jwt", "alg": "ES256" })),
        DpopError::Jose(JoseError::HeaderRefused(_))
    ));
    for extra in [
        json!({ "jku": "https://evil.example/jwks" }),
        json!({ "x5u": "https://evil.example/c" }),
        json!({ "crit": ["exp"] }),
    ] {
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        header.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert!(matches!(refused(header), DpopError::Jose(JoseError::HeaderRefused(_))));
    }
    // The real key in the header, but signed by another: the signature decides.
    let other = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let proof = forge(other.as_ref(), &json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk }), &claims(now));
    assert_eq!(dpop::verify(proof.as_bytes(), &target, at(now), WINDOW), Err(DpopError::Jose(JoseError::BadSignature)));
}

#[test]
fn dp02_htm_must_be_the_method_and_iat_within_the_window() {
    let now = 1_700_000_000;
    let key = &keys()[0];
    let proof = their_proof(key, &claims(now));
    assert_eq!(
        dpop::verify(proof.as_bytes(), &ProofTarget::new("GET", TOKEN_URL), at(now), WINDOW),
        Err(DpopError::WrongMethod)
    );
    assert_eq!(
        dpop::verify(proof.as_bytes(), &ProofTarget::new("post", TOKEN_URL), at(now), WINDOW),
        Err(DpopError::WrongMethod)
    );
    let target = ProofTarget::new("POST", TOKEN_URL);
    for offset in [-60, 0, 60] {
        assert!(dpop::verify(proof.as_bytes(), &target, at(now + offset), WINDOW).is_ok(), "{offset}");
    }
    for offset in [-61, 61, 3600, -86_400] {
        assert_eq!(
            dpop::verify(proof.as_bytes(), &target, at(now + offset), WINDOW),
            Err(DpopError::NotFresh),
            "{offset}"
        );
    }
    // The window is capped: an hour of "window" is five minutes.
    assert_eq!(dpop::verify(proof.as_bytes(), &target, at(now + 400), Duration::hours(1)), Err(DpopError::NotFresh));
    // iat at the edge of the representable dates: refused, never a panic.
    let far = their_proof(key, &json!({ "jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": i64::MAX }));
    assert!(dpop::verify(far.as_bytes(), &target, at(now), WINDOW).is_err());
}

/// DP-09: htu compared on scheme, host, port (default port normalised) and path, exactly;
/// query and fragment ignored; no trailing-slash rewriting; a non-string htu refused.
#[test]
fn dp09_htu_is_compared_on_scheme_host_port_and_exact_path() {
    let now = 1_700_000_000;
    let key = &keys()[1];
    let target = ProofTarget::new("POST", "https://server.example.com/token");
    let with_htu = |htu: Value| their_proof(key, &json!({ "jti": "j", "htm": "POST", "htu": htu, "iat": now }));
    for same in [
        "https://server.example.com/token",
        "HTTPS://Server.Example.COM/token",
        "https://server.example.com:443/token",
        "https://server.example.com/token?x=1",
        "https://server.example.com/token#frag",
    ] {
        let proof = with_htu(json!(same));
        assert!(dpop::verify(proof.as_bytes(), &target, at(now), WINDOW).is_ok(), "{same}");
    }
    for other in [
        "https://server.example.com/token/",
        "https://server.example.com/Token",
        "https://server.example.com/tok%65n",
        "http://server.example.com/token",
        "https://server.example.com:8443/token",
        "https://evil.example/token",
        "https://server.example.com.evil.example/token",
        "https://user@server.example.com/token",
        "server.example.com/token",
        "/token",
        "",
    ] {
        let proof = with_htu(json!(other));
        let result = dpop::verify(proof.as_bytes(), &target, at(now), WINDOW);
        assert!(matches!(result, Err(DpopError::WrongUrl | DpopError::Malformed(_))), "{other}: {result:?}");
    }
    for not_a_string in [json!(["https://server.example.com/token"]), json!({ "url": "x" }), json!(1)] {
        let proof = with_htu(not_a_string);
        assert!(matches!(dpop::verify(proof.as_bytes(), &target, at(now), WINDOW), Err(DpopError::Malformed(_))));
    }
    assert_eq!(dpop::normalize_htu("http://127.0.0.1:80"), Some("http://127.0.0.1/".into()));
    assert_eq!(dpop::normalize_htu("http://[::1]:8080/x?y"), Some("http://[::1]:8080/x".into()));
    // Userinfo, or a space or control character in the authority: no URL to compare at all,
    // each on its own.
    for refused in [
        "https://user@server.example.com/token",
        "https://server .example.com/token",
        "https://a\tb/x",
        // No authority, no host, an empty or non-numeric port.
        "https:///token",
        "https://:443/token",
        "https://server.example.com:/token",
        "https://server.example.com:44a/token",
    ] {
        assert_eq!(dpop::normalize_htu(refused), None, "{refused:?}");
    }
    // An IPv6 literal's colons are not a port separator.
    assert_eq!(dpop::normalize_htu("http://[::1]/x"), Some("http://[::1]/x".into()));
}

/// DP-10: the replay key is the key's thumbprint, the jti and the normalised method and URL.
#[test]
fn dp10_the_replay_key_uses_the_key_the_jti_and_the_normalised_target() {
    let now = 1_700_000_000;
    let [ed, ec, _] = <[Key; 3]>::try_from(keys()).ok().unwrap();
    let target = ProofTarget::new("POST", TOKEN_URL);
    let verify = |key: &Key, htu: &str, jti: &str| {
        let proof = their_proof(key, &json!({ "jti": jti, "htm": "POST", "htu": htu, "iat": now }));
        dpop::verify(proof.as_bytes(), &target, at(now), WINDOW).unwrap()
    };
    let a = verify(&ec, TOKEN_URL, "j");
    // The same proof spelled with another case and the default port: the same key.
    assert_eq!(a.replay_key(), verify(&ec, "HTTPS://server.example.com:443/token", "j").replay_key());
    // Another client's key with the same jti: another key.
    assert_ne!(a.replay_key(), verify(&ed, TOKEN_URL, "j").replay_key());
    assert_ne!(a.replay_key(), verify(&ec, TOKEN_URL, "k").replay_key());
    assert_eq!(a.replay_until(WINDOW), at(now + 61));
}

/// DP-13: nonces need no state: any instance with the secret accepts any instance's nonce for
/// its step and the next, and nothing else.
#[test]
fn dp13_nonces_are_stateless_and_agree_across_instances() {
    let secret = [7u8; 32];
    let (a, b) = (NonceKey::new(&secret, Duration::minutes(1)), NonceKey::new(&secret, Duration::minutes(1)));
    let now = at(1_700_000_000);
    let nonce = a.issue(now);
    assert!(b.accepts(&nonce, now));
    assert!(b.accepts(&nonce, now + Duration::seconds(60)));
    assert!(!b.accepts(&nonce, now + Duration::minutes(3)));
    assert!(!b.accepts(&nonce, now - Duration::minutes(2)), "a nonce from the future");
    assert!(!NonceKey::new(&[8u8; 32], Duration::minutes(1)).accepts(&nonce, now), "another secret");
    assert!(!b.accepts("", now) && !b.accepts(&format!("{nonce}x"), now));
    // Its Debug shows the step and never the secret.
    assert_eq!(format!("{a:?}"), "NonceKey { step: Duration { seconds: 60, nanoseconds: 0 }, .. }");
}
