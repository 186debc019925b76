//! JWT access tokens against an independent JOSE implementation (the `jsonwebtoken` crate), in
//! both directions and for each algorithm (JWT-01, JWT-05): it verifies our tokens with keys
//! taken from our JWKS, and we verify tokens it signs.

mod common;

use std::sync::Arc;

use common::{ISSUER, block_on, json};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
use oauth21::jwt::{AccessTokenFormat, JwtError, JwtVerifier};
use oauth21::{ManualClock, Request, Server, ServerConfig};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;

const AUDIENCE: &str = "https://api.example";
const RSA_PKCS8: &[u8] = include_bytes!("keys/rsa2048.pk8.der");
const RSA_PKCS1: &[u8] = include_bytes!("keys/rsa2048.pkcs1.der");

/// One key in the forms each side loads: PKCS#8 for us; what `jsonwebtoken` takes for signing.
struct KeyPair {
    alg: Algorithm,
    ours: Vec<u8>,
    theirs: EncodingKey,
}

fn key_pairs() -> Vec<KeyPair> {
    let rng = ring::rand::SystemRandom::new();
    // ring writes PKCS#8 v2 for Ed25519, which both sides read.
    let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap().as_ref().to_vec();
    vec![
        KeyPair { alg: Algorithm::EdDSA, theirs: EncodingKey::from_ed_der(&ed), ours: ed },
        KeyPair { alg: Algorithm::ES256, theirs: EncodingKey::from_ec_der(&ec), ours: ec },
        KeyPair { alg: Algorithm::RS256, theirs: EncodingKey::from_rsa_der(RSA_PKCS1), ours: RSA_PKCS8.to_vec() },
    ]
}

fn their_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        _ => unreachable!("a variant this code does not know"),
    }
}

/// Their decoding key, built only from our JWKS entry.
fn decoding_key(jwk: &Value) -> DecodingKey {
    let member = |name: &str| jwk[name].as_str().unwrap();
    match member("kty") {
        "OKP" => DecodingKey::from_ed_components(member("x")).unwrap(),
        "EC" => DecodingKey::from_ec_components(member("x"), member("y")).unwrap(),
        "RSA" => DecodingKey::from_rsa_components(member("n"), member("e")).unwrap(),
        other => panic!("unexpected kty {other}"),
    }
}

#[test]
fn jwt01_jsonwebtoken_verifies_our_tokens_with_keys_from_our_jwks() {
    for pair in key_pairs() {
        let keys =
            SharedKeySet::new(KeySet::with_active(SigningKey::from_pkcs8_der(pair.alg, "k1", &pair.ours).unwrap()));
        // The common fixture's clients, `svc` among them.
        let store = common::fixture().store;
        let config = ServerConfig::builder(ISSUER)
            .access_token_format(AccessTokenFormat::Jwt)
            .access_token_audience(AUDIENCE)
            .build()
            .unwrap();
        // `jsonwebtoken` judges expiry by the system clock.
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let server = Server::new(config, store).with_clock(clock).with_jwt_keys(keys);
        let body = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret&scope=read";
        let response = block_on(server.token(&Request::form_post(body.as_bytes())));
        let token = json(&response)["access_token"].as_str().unwrap().to_owned();

        let jwks: Value = serde_json::from_slice(server.jwks().body()).unwrap();
        let mut validation = Validation::new(their_alg(pair.alg));
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let decoded = jsonwebtoken::decode::<Value>(&token, &decoding_key(&jwks["keys"][0]), &validation)
            .unwrap_or_else(|e| panic!("{}: {e}", pair.alg));
        assert_eq!(decoded.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(decoded.header.kid.as_deref(), Some("k1"));
        assert_eq!(decoded.claims["sub"], "svc");
        assert_eq!(decoded.claims["client_id"], "svc");
        assert_eq!(decoded.claims["scope"], "read");
    }
}

#[test]
fn jwt05_we_verify_tokens_signed_by_jsonwebtoken() {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": ISSUER, "sub": "alice", "aud": [AUDIENCE, "https://other.example"], "client_id": "app",
        "iat": now, "exp": now + 300, "jti": "their-jti", "scope": "read write"
    });
    for pair in key_pairs() {
        let keys =
            SharedKeySet::new(KeySet::with_active(SigningKey::from_pkcs8_der(pair.alg, "k1", &pair.ours).unwrap()));
        let verifier = JwtVerifier::new(keys, ISSUER, AUDIENCE);
        let mut header = Header::new(their_alg(pair.alg));
        header.typ = Some("at+jwt".into());
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&header, &claims, &pair.theirs).unwrap();
        let verified =
            verifier.verify(&token, OffsetDateTime::now_utc()).unwrap_or_else(|e| panic!("{}: {e}", pair.alg));
        assert_eq!(verified.subject.as_str(), "alice");
        assert_eq!(verified.jwt_id, "their-jti");
        assert_eq!(verified.scope.to_string(), "read write");
        assert_eq!(verified.audience.len(), 2);

        // The same library's default header (`typ: JWT`) is not an access token.
        let mut plain = Header::new(their_alg(pair.alg));
        plain.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&plain, &claims, &pair.theirs).unwrap();
        assert_eq!(verifier.verify(&token, OffsetDateTime::now_utc()), Err(JwtError::WrongType));
    }
}
