//! JWT access tokens: signing and verification per algorithm next to ring's raw signature cost
//! (the floor), and a client_credentials token request issuing an opaque token vs a JWT.
//!
//! `cd benches/compare && cargo bench --bench jwt`; results in docs/benchmarks.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use oauth21::jose::{self, Algorithm, KeySet, SharedKeySet, SigningKey};
use oauth21::jwt::{AccessTokenFormat, JwtVerifier};
use oauth21::{Client, ClientSecret, GrantType, MemoryStore, Request, Server, ServerConfig};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use time::OffsetDateTime;

const RSA2048: &[u8] = include_bytes!("../../../tests/keys/rsa2048.pk8.der");
const ISSUER: &str = "https://as.example";
const AUDIENCE: &str = "https://api.example";

/// A typical RFC 9068 claim set (about 250 bytes).
fn claims() -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    format!(
        r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{AUDIENCE}","client_id":"app","iat":{now},"exp":{},"jti":"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6","scope":"read write"}}"#,
        now + 3600
    )
}

/// A signing function over a message.
type Sign = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// ring alone: sign and verify a message as long as the token's signing input.
struct Floor {
    sign: Sign,
    public: Vec<u8>,
    verify_alg: &'static dyn signature::VerificationAlgorithm,
}

fn floor(alg: Algorithm, pkcs8: &[u8]) -> Floor {
    let rng = SystemRandom::new();
    match alg {
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            Floor { sign: Box::new(move |m| pair.sign(m).as_ref().to_vec()), public, verify_alg: &signature::ED25519 }
        }
        Algorithm::ES256 => {
            let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            Floor {
                sign: Box::new(move |m| pair.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()),
                public,
                verify_alg: &signature::ECDSA_P256_SHA256_FIXED,
            }
        }
        Algorithm::RS256 => {
            let pair = RsaKeyPair::from_pkcs8(pkcs8).unwrap();
            let public = pair.public().as_ref().to_vec();
            Floor {
                sign: Box::new(move |m| {
                    let mut sig = vec![0; pair.public().modulus_len()];
                    pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut sig).unwrap();
                    sig
                }),
                public,
                verify_alg: &signature::RSA_PKCS1_2048_8192_SHA256,
            }
        }
        _ => unreachable!("a variant this code does not know"),
    }
}

fn pkcs8(alg: Algorithm) -> Vec<u8> {
    let rng = SystemRandom::new();
    match alg {
        Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec(),
        Algorithm::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap().as_ref().to_vec()
        }
        Algorithm::RS256 => RSA2048.to_vec(),
        _ => unreachable!("a variant this code does not know"),
    }
}

fn sign_and_verify(c: &mut Criterion) {
    let claims = claims();
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let der = pkcs8(alg);
        let key = SigningKey::from_pkcs8_der(alg, "k1", &der).unwrap();
        let floor = floor(alg, &der);
        let keys = SharedKeySet::new(KeySet::with_active(key));
        let set = keys.snapshot();
        let token = jose::sign(set.signing_key().unwrap(), "at+jwt", claims.as_bytes()).unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        let raw_signature = (floor.sign)(input.as_bytes());
        let verifier = JwtVerifier::new(keys.clone(), ISSUER, AUDIENCE);
        let now = OffsetDateTime::now_utc();

        let mut group = c.benchmark_group(format!("jwt_sign/{alg}"));
        group.bench_function("ring_floor", |b| b.iter(|| (floor.sign)(black_box(input.as_bytes()))));
        group.bench_function("jose_sign", |b| {
            b.iter(|| jose::sign(set.signing_key().unwrap(), "at+jwt", black_box(claims.as_bytes())).unwrap())
        });
        group.finish();

        let mut group = c.benchmark_group(format!("jwt_verify/{alg}"));
        group.bench_function("ring_floor", |b| {
            b.iter(|| {
                UnparsedPublicKey::new(floor.verify_alg, &floor.public)
                    .verify(black_box(input.as_bytes()), &raw_signature)
                    .unwrap()
            })
        });
        group.bench_function("jose_verify", |b| b.iter(|| jose::verify(&set, black_box(&token), now).unwrap()));
        group.bench_function("jwt_verifier", |b| b.iter(|| verifier.verify(black_box(&token), now).unwrap()));
        group.finish();
    }
}

/// A DPoP proof (RFC 9449) by `set`'s key, its public JWK in the header, for POST `url` at `iat`.
fn dpop_proof(set: &KeySet, url: &str, iat: i64) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use oauth21::jose::{JwtSigner, SignerKey};
    let key = set.signing_key().unwrap();
    let header =
        serde_json::json!({ "typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": key.public_key().to_jwk() });
    let claims = serde_json::json!({ "jti": "Zm9vYmFyYmF6cXV4", "htm": "POST", "htu": url, "iat": iat });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signer = SignerKey::new(key.kid(), key.algorithm());
    let signature = oauth21_compare::block_on(JwtSigner::sign(set, &signer, input.as_bytes())).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The DPoP proof check per algorithm (JWS with the key in its header, claims, htm/htu, iat),
/// next to ring's raw verification of the same signing input.
fn dpop_verify(c: &mut Criterion) {
    use oauth21::dpop::{self, ProofTarget};
    let url = "https://as.example/token";
    let now = OffsetDateTime::now_utc();
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let der = pkcs8(alg);
        let floor = floor(alg, &der);
        let set = KeySet::with_active(SigningKey::from_pkcs8_der(alg, "k1", &der).unwrap());
        let proof = dpop_proof(&set, url, now.unix_timestamp());
        let (input, _) = proof.rsplit_once('.').unwrap();
        let raw_signature = (floor.sign)(input.as_bytes());
        let target = ProofTarget::new("POST", url);
        let mut group = c.benchmark_group(format!("dpop_verify/{alg}"));
        group.bench_function("ring_floor", |b| {
            b.iter(|| {
                UnparsedPublicKey::new(floor.verify_alg, &floor.public)
                    .verify(black_box(input.as_bytes()), &raw_signature)
                    .unwrap()
            })
        });
        group.bench_function("dpop_verify", |b| {
            b.iter(|| dpop::verify(black_box(proof.as_bytes()), &target, now, dpop::DEFAULT_WINDOW).unwrap())
        });
        group.finish();
    }
}

fn token_endpoint(c: &mut Criterion) {
    let mut group = c.benchmark_group("client_credentials_token");
    for (name, format) in [("opaque", AccessTokenFormat::Opaque), ("jwt_eddsa", AccessTokenFormat::Jwt)] {
        let store = Arc::new(MemoryStore::new());
        store.insert_client(
            Client::confidential("svc", &ClientSecret::new("svc-secret"))
                .allow_short_secrets()
                .grant_types([GrantType::ClientCredentials])
                .scope("read")
                .build()
                .unwrap(),
        );
        let config =
            ServerConfig::builder(ISSUER).access_token_format(format).access_token_audience(AUDIENCE).build().unwrap();
        let keys = SharedKeySet::new(KeySet::with_active(SigningKey::generate(Algorithm::EdDSA, "k1").unwrap()));
        let server = Server::new(config, store.clone()).with_jwt_keys(keys);
        let body = b"grant_type=client_credentials&client_id=svc&client_secret=svc-secret&scope=read";
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = oauth21_compare::block_on(server.token(&Request::form_post(body)));
                assert_eq!(response.status(), 200);
                // Keep the store from growing without bound over the run.
                store.purge_expired(OffsetDateTime::now_utc() + Duration::from_secs(7200));
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = jwt;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = sign_and_verify, dpop_verify, token_endpoint
}
criterion_main!(jwt);
