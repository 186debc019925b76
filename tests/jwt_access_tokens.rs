//! JWT access tokens (RFC 9068; JWT-01..JWT-05, MD-03) for each algorithm: issue and verify,
//! every way a token can be forged or misused, key rotation, JWKS, and the store-backed
//! revocation and introspection of JWTs.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{ISSUER, app_query, app_redeem_body, block_on, fixture, json};
use oauth21::bearer::{BearerChecker, BearerError};
use oauth21::jose::{
    self, Algorithm, JoseError, JwtSigner, KeySet, KeyState, PublicKey, SharedKeySet, SignerKey, SigningKey,
};
use oauth21::jwt::{AccessTokenFormat, JwtError, JwtVerifier};
use oauth21::{
    Approval, Client, ClientSecret, ConfigError, GrantType, ManualClock, MemoryStore, Request, Response, Scope, Server,
    ServerConfig, Subject, SystemRandom,
};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const AUDIENCE: &str = "https://api.example";
const ED25519: &[u8] = include_bytes!("keys/ed25519.pk8.der");
const P256: &[u8] = include_bytes!("keys/p256.pk8.der");
const RSA2048: &[u8] = include_bytes!("keys/rsa2048.pk8.der");
const ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

type JwtServer = Server<Arc<MemoryStore>>;

struct JwtFixture {
    server: JwtServer,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    keys: SharedKeySet,
}

fn pkcs8(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::EdDSA => ED25519,
        Algorithm::ES256 => P256,
        Algorithm::RS256 => RSA2048,
        _ => unreachable!("a variant this code does not know"),
    }
}

fn key(alg: Algorithm, kid: &str) -> SigningKey {
    SigningKey::from_pkcs8_der(alg, kid, pkcs8(alg)).unwrap()
}

fn config() -> ServerConfig {
    ServerConfig::builder(ISSUER)
        .access_token_format(AccessTokenFormat::Jwt)
        .access_token_audience(AUDIENCE)
        .build()
        .unwrap()
}

/// The common fixture's clients and clock, with a JWT server signing with `alg`.
fn jwt_fixture(alg: Algorithm) -> JwtFixture {
    let base = fixture();
    base.store.insert_client(
        Client::confidential("rs", &ClientSecret::new("rs-secret"))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .may_introspect_any_token()
            .build()
            .unwrap(),
    );
    let keys = SharedKeySet::new(KeySet::with_active(key(alg, "k1")));
    let server = Server::with_providers(config(), base.store.clone(), base.clock.clone(), SystemRandom::new())
        .with_jwt_keys(keys.clone())
        .with_hooks(base.events);
    JwtFixture { server, store: base.store, clock: base.clock, keys }
}

impl JwtFixture {
    fn now(&self) -> OffsetDateTime {
        oauth21::Clock::now(&*self.clock)
    }

    fn verifier(&self) -> JwtVerifier {
        JwtVerifier::new(self.keys.clone(), ISSUER, AUDIENCE)
    }

    fn token(&self, body: &str, authorization: Option<&str>) -> Response {
        let mut request = Request::form_post(body.as_bytes());
        if let Some(a) = authorization {
            request = request.with_authorization(a.as_bytes());
        }
        block_on(self.server.token(&request))
    }

    /// A client_credentials token for `svc` (scope `read`).
    fn svc_token(&self) -> String {
        let response =
            self.token("grant_type=client_credentials&client_id=svc&client_secret=svc-secret&scope=read", None);
        assert_eq!(response.status(), 200);
        json(&response)["access_token"].as_str().unwrap().to_owned()
    }

    /// The code flow for `app` as alice (scope `read write`): (access, refresh).
    fn app_tokens(&self) -> (String, String) {
        let query = app_query("&scope=read%20write");
        let oauth21::AuthorizeOutcome::Consent(consent) = block_on(self.server.authorize(&Request::get(&query))) else {
            panic!("consent expected")
        };
        let redirect = block_on(self.server.approve(&consent, Approval::new(Subject::new("alice").unwrap())))
            .unwrap()
            .into_response();
        let code = common::query_param(redirect.location().unwrap(), "code").unwrap();
        let response = self.token(&app_redeem_body(&code), None);
        assert_eq!(response.status(), 200);
        let body = json(&response);
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    }

    fn introspect(&self, token: &str) -> Value {
        let body = format!("token={token}&client_id=rs&client_secret=rs-secret");
        json(&block_on(self.server.introspect(&Request::form_post(body.as_bytes()))))
    }
}

fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// A compact JWS with exactly `header` and `payload` (raw JSON text), signed with the fixture
/// key of `alg` through ring directly: the forger holds the real key, so only the verifier's
/// header and claim rules stand between it and acceptance.
fn forge(alg: Algorithm, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let rng = ring::rand::SystemRandom::new();
    let signature = match alg {
        Algorithm::EdDSA => {
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(ED25519).unwrap().sign(input.as_bytes()).as_ref().to_vec()
        }
        Algorithm::ES256 => EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, P256, &rng)
            .unwrap()
            .sign(&rng, input.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
        Algorithm::RS256 => {
            let pair = RsaKeyPair::from_pkcs8(RSA2048).unwrap();
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).unwrap();
            sig
        }
        _ => unreachable!("a variant this code does not know"),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Valid claims at the fixture clock (1_700_000_000), overridable member by member.
fn claims(overrides: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "client_id": "app",
        "iat": 1_700_000_000, "exp": 1_700_003_600, "jti": "jti-1", "scope": "read"
    });
    for (name, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims.to_string()
}

fn header(alg: Algorithm) -> String {
    json!({ "alg": alg.name(), "typ": "at+jwt", "kid": "k1" }).to_string()
}

#[test]
fn jwt01_jwt02_every_algorithm_issues_tokens_that_verify_with_all_claims() {
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let (access, refresh) = f.app_tokens();
        assert_eq!(access.split('.').count(), 3, "{alg}: a compact JWS");
        assert_eq!(part(&access, 0), json!({ "alg": alg.name(), "typ": "at+jwt", "kid": "k1" }));
        let payload = part(&access, 1);
        for claim in ["iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"] {
            assert!(payload.get(claim).is_some(), "{alg}: {claim} present");
        }
        assert_eq!(payload["iss"], ISSUER);
        assert_eq!(payload["aud"], AUDIENCE);
        assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 3600);
        let claims = f.verifier().verify(&access, f.now()).unwrap();
        assert_eq!(claims.subject.as_str(), "alice");
        assert_eq!(claims.client_id.as_str(), "app");
        assert_eq!(claims.scope.to_string(), "read write");
        assert_eq!(claims.audience, vec![AUDIENCE.to_owned()]);
        assert_eq!(claims.kid, "k1");
        assert_eq!(claims.jwt_id.len(), 43, "{alg}: 256-bit jti");
        // Refresh tokens stay opaque.
        assert!(!refresh.contains('.'));
    }
}

#[test]
fn jwt04_client_credentials_tokens_name_the_client_as_subject() {
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let token = f.svc_token();
        let claims = f.verifier().verify(&token, f.now()).unwrap();
        assert_eq!(claims.subject.as_str(), "svc");
        assert_eq!(claims.client_id.as_str(), "svc");
        assert_eq!(claims.scope.to_string(), "read");
    }
}

#[test]
fn jwt02_every_jti_is_distinct() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let a = f.verifier().verify(&f.svc_token(), f.now()).unwrap();
    let b = f.verifier().verify(&f.svc_token(), f.now()).unwrap();
    assert_ne!(a.jwt_id, b.jwt_id);
}

#[test]
fn jwt05_tampered_header_payload_or_signature_is_refused_for_every_algorithm() {
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let token = f.svc_token();
        let parts: Vec<&str> = token.split('.').collect();
        let verify = |t: &str| f.verifier().verify(t, f.now());
        // Header: same members, different bytes (a space), so the signing input changes.
        let header = URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{}\", \"typ\":\"at+jwt\",\"kid\":\"k1\"}}", alg));
        let tampered = format!("{header}.{}.{}", parts[1], parts[2]);
        assert_eq!(verify(&tampered), Err(JwtError::Jose(JoseError::BadSignature)), "{alg}: header");
        // Payload: a wider scope.
        let mut payload = part(&token, 1);
        payload["scope"] = "read write admin".into();
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
        assert_eq!(verify(&tampered), Err(JwtError::Jose(JoseError::BadSignature)), "{alg}: payload");
        // Signature: one bit flipped.
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
        assert_eq!(verify(&tampered), Err(JwtError::Jose(JoseError::BadSignature)), "{alg}: signature");
        // No signature at all.
        let stripped = format!("{}.{}.", parts[0], parts[1]);
        assert!(verify(&stripped).is_err(), "{alg}: empty signature");
    }
}

#[test]
fn jwt05_alg_none_is_refused() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#);
    let token = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims(json!({}))));
    assert_eq!(
        f.verifier().verify(&token, f.now()),
        Err(JwtError::Jose(JoseError::HeaderRefused("alg is not the key's algorithm")))
    );
}

#[test]
fn jwt05_hs256_with_the_public_key_as_hmac_secret_is_refused() {
    // The classic confusion: a verifier that takes `alg` from the token would check an HMAC
    // keyed with the public key, which anyone can compute.
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let public = f.keys.snapshot().verification_key("k1", f.now()).unwrap().to_jwk();
        for secret in [public.to_string(), public["x"].as_str().or(public["n"].as_str()).unwrap().to_owned()] {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#),
                URL_SAFE_NO_PAD.encode(claims(json!({})))
            );
            let mac =
                ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()), input.as_bytes());
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
            assert_eq!(
                f.verifier().verify(&token, f.now()),
                Err(JwtError::Jose(JoseError::HeaderRefused("alg is not the key's algorithm"))),
                "{alg}"
            );
        }
    }
}

#[test]
fn jwt05_another_asymmetric_algorithm_in_the_header_is_refused() {
    // A genuine EdDSA signature presented with `alg: ES256` (and the reverse): the key's
    // algorithm decides, so neither reaches signature verification under the wrong algorithm.
    let f = jwt_fixture(Algorithm::EdDSA);
    let forged = forge(Algorithm::EdDSA, &header(Algorithm::ES256), &claims(json!({})));
    assert!(matches!(f.verifier().verify(&forged, f.now()), Err(JwtError::Jose(JoseError::HeaderRefused(_)))));
}

#[test]
fn jwt05_forged_tokens_with_the_right_key_still_need_every_claim_right() {
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let verify = |header: &str, claims: String| f.verifier().verify(&forge(alg, header, &claims), f.now());
        let good = header(alg);
        assert!(verify(&good, claims(json!({}))).is_ok(), "{alg}: the control token verifies");
        // typ: missing, a plain JWT, an ID token type; the media-type form is accepted.
        for typ in [None, Some("JWT"), Some("id_token+jwt"), Some("at+jwt ")] {
            let mut h = json!({ "alg": alg.name(), "kid": "k1" });
            if let Some(typ) = typ {
                h["typ"] = typ.into();
            }
            assert_eq!(verify(&h.to_string(), claims(json!({}))), Err(JwtError::WrongType), "{alg}: typ {typ:?}");
        }
        let media = json!({ "alg": alg.name(), "typ": "application/AT+JWT", "kid": "k1" }).to_string();
        assert!(verify(&media, claims(json!({}))).is_ok());
        // iss and aud.
        assert_eq!(verify(&good, claims(json!({ "iss": "https://evil.example" }))), Err(JwtError::WrongIssuer));
        assert_eq!(verify(&good, claims(json!({ "aud": "https://other.example" }))), Err(JwtError::WrongAudience));
        assert!(verify(&good, claims(json!({ "aud": ["https://other.example", AUDIENCE] }))).is_ok());
        assert_eq!(verify(&good, claims(json!({ "aud": [] }))), Err(JwtError::InvalidClaim("aud")));
        // Required claims.
        for required in ["iss", "sub", "aud", "client_id", "iat", "exp", "jti"] {
            assert!(verify(&good, claims(json!({ required: null }))).is_err(), "{alg}: without {required}");
        }
        assert_eq!(verify(&good, claims(json!({ "exp": "1700003600" }))), Err(JwtError::InvalidClaim("exp")));
        assert_eq!(verify(&good, claims(json!({ "scope": ["read"] }))), Err(JwtError::InvalidClaim("scope")));
    }
}

#[test]
fn jwt05_expiry_and_not_before_with_and_without_leeway() {
    let f = jwt_fixture(Algorithm::ES256);
    let now = f.now();
    let strict = f.verifier().leeway(Duration::ZERO);
    let lenient = f.verifier().leeway(Duration::seconds(30));
    let token = |c: Value| forge(Algorithm::ES256, &header(Algorithm::ES256), &claims(c));
    // Expired 10 s ago: refused without leeway, accepted within 30 s of leeway, not after.
    let expired = token(json!({ "iat": 1_699_996_390, "exp": 1_699_999_990 }));
    assert_eq!(strict.verify(&expired, now), Err(JwtError::Expired));
    assert!(lenient.verify(&expired, now).is_ok());
    assert_eq!(lenient.verify(&expired, now + Duration::seconds(20)), Err(JwtError::Expired));
    // Exactly at exp: expired.
    let at_exp = token(json!({ "exp": 1_700_000_000, "iat": 1_699_990_000 }));
    assert_eq!(strict.verify(&at_exp, now), Err(JwtError::Expired));
    // Not before 10 s from now; issued 10 s in the future.
    let nbf = token(json!({ "nbf": 1_700_000_010 }));
    assert_eq!(strict.verify(&nbf, now), Err(JwtError::NotYetValid));
    assert!(lenient.verify(&nbf, now).is_ok());
    let future_iat = token(json!({ "iat": 1_700_000_010 }));
    assert_eq!(strict.verify(&future_iat, now), Err(JwtError::NotYetValid));
    assert!(lenient.verify(&future_iat, now).is_ok());
    // The edge of the leeway: issued exactly 30 s ahead passes, one second more does not.
    assert!(lenient.verify(&token(json!({ "iat": 1_700_000_030 })), now).is_ok());
    assert_eq!(lenient.verify(&token(json!({ "iat": 1_700_000_031 })), now), Err(JwtError::NotYetValid));
    assert!(lenient.verify(&token(json!({ "nbf": 1_700_000_030 })), now).is_ok());
    assert_eq!(lenient.verify(&token(json!({ "nbf": 1_700_000_031 })), now), Err(JwtError::NotYetValid));
    // The leeway is capped: an hour of "leeway" is five minutes.
    let long_expired = token(json!({ "iat": 1_699_990_000, "exp": 1_699_999_000 }));
    assert_eq!(f.verifier().leeway(Duration::hours(1)).verify(&long_expired, now), Err(JwtError::Expired));
}

/// A token from a trusted key whose `exp` is the largest date the verifier can represent: the
/// leeway added to it used to overflow and panic. Now such dates verify without panic, and the
/// dates beyond them are refused as invalid claims.
#[test]
fn jwt05_dates_at_the_edge_of_the_representable_range_never_panic() {
    let f = jwt_fixture(Algorithm::ES256);
    let token = |c: Value| forge(Algorithm::ES256, &header(Algorithm::ES256), &claims(c));
    let max = 253_402_300_799_i64; // 9999-12-31T23:59:59Z
    let far = token(json!({ "exp": max }));
    let verifier = f.verifier().leeway(Duration::seconds(30));
    assert!(verifier.verify(&far, f.now()).is_ok());
    // A host clock at the far end of time does not overflow either.
    let at_the_end = time::OffsetDateTime::from_unix_timestamp(max).unwrap();
    assert!(verifier.verify(&far, at_the_end).is_ok(), "within the leeway of exp");
    assert_eq!(f.verifier().leeway(Duration::ZERO).verify(&far, at_the_end), Err(JwtError::Expired));
    let ended = token(json!({ "exp": max - 60 }));
    assert_eq!(verifier.verify(&ended, at_the_end), Err(JwtError::Expired));
    let late_iat = token(json!({ "iat": max, "nbf": max }));
    assert!(matches!(verifier.verify(&late_iat, f.now()), Err(JwtError::NotYetValid)));
    for beyond in [json!({ "exp": max + 1 }), json!({ "exp": i64::MAX }), json!({ "exp": 1e300 })] {
        assert!(verifier.verify(&token(beyond.clone()), f.now()).is_err(), "{beyond}");
    }
}

#[test]
fn jwt05_unknown_kid_and_missing_kid_are_refused() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let unknown = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k2" }).to_string();
    assert_eq!(
        f.verifier().verify(&forge(Algorithm::EdDSA, &unknown, &claims(json!({}))), f.now()),
        Err(JwtError::Jose(JoseError::UnknownKid))
    );
    let missing = json!({ "alg": "EdDSA", "typ": "at+jwt" }).to_string();
    assert_eq!(
        f.verifier().verify(&forge(Algorithm::EdDSA, &missing, &claims(json!({}))), f.now()),
        Err(JwtError::Jose(JoseError::HeaderRefused("kid is required")))
    );
}

#[test]
fn jwt05_headers_that_carry_keys_extensions_or_compression_are_refused() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let jwk = f.keys.snapshot().verification_key("k1", f.now()).unwrap().to_jwk();
    let extras = [
        json!({ "jwk": jwk }),
        json!({ "jku": "https://evil.example/jwks.json" }),
        json!({ "x5u": "https://evil.example/cert.pem" }),
        json!({ "x5c": ["MIIB"] }),
        json!({ "crit": ["exp"] }),
        json!({ "crit": [] }),
        json!({ "zip": "DEF" }),
        json!({ "b64": false, "crit": ["b64"] }),
    ];
    for extra in extras {
        let mut h = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" });
        for (name, value) in extra.as_object().unwrap() {
            h[name] = value.clone();
        }
        let result = f.verifier().verify(&forge(Algorithm::EdDSA, &h.to_string(), &claims(json!({}))), f.now());
        assert!(matches!(result, Err(JwtError::Jose(JoseError::HeaderRefused(_)))), "{extra}: {result:?}");
    }
}

#[test]
fn jwt05_duplicate_json_members_are_refused_in_header_and_claims() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let verify = |h: &str, c: &str| f.verifier().verify(&forge(Algorithm::EdDSA, h, c), f.now());
    let dup_header = r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","kid":"k1"}"#;
    assert_eq!(
        verify(dup_header, &claims(json!({}))),
        Err(JwtError::Jose(JoseError::Malformed("the header is not strict JSON")))
    );
    let good = claims(json!({}));
    let dup_claims = good.replacen("{", r#"{"sub":"mallory","#, 1);
    assert_eq!(verify(&header(Algorithm::EdDSA), &dup_claims), Err(JwtError::InvalidClaim("payload")));
}

#[test]
fn jwt05_malformed_and_oversized_compact_serializations_are_refused() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let token = f.svc_token();
    let verify = |t: &str| f.verifier().verify(t, f.now());
    assert!(verify(&token).is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    for bad in [
        String::new(),
        "a.b".to_owned(),
        format!("{token}.extra"),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}==", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0].replace('e', "+"), parts[1], parts[2]),
        format!(" {token}"),
    ] {
        assert!(matches!(verify(&bad), Err(JwtError::Jose(JoseError::Malformed(_)))), "{bad:?}");
    }
    // Non-canonical base64url: the last character's unused bits set.
    let sig = parts[2];
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let bumped = alphabet.chars().nth(index ^ 1).unwrap();
    let noncanonical = format!("{}.{}.{}{}", parts[0], parts[1], &sig[..sig.len() - 1], bumped);
    assert!(verify(&noncanonical).is_err());
    // Oversized: refused before decoding, whatever it holds.
    let huge = forge(Algorithm::EdDSA, &header(Algorithm::EdDSA), &claims(json!({ "pad": "x".repeat(9000) })));
    assert_eq!(verify(&huge), Err(JwtError::Jose(JoseError::Malformed("the token is too long"))));
}

#[test]
fn jwt05_rotation_publish_then_activate_then_retire() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let old_token = f.svc_token();
    // Step 1: publish k2 (ES256) ahead of use: in the JWKS, not signing yet.
    f.keys.update(|set| set.publish(SigningKey::generate(Algorithm::ES256, "k2")?)).unwrap();
    let jwks: Value = serde_json::from_str(&f.keys.snapshot().jwks(f.now())).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(part(&f.svc_token(), 0)["kid"], "k1");
    // Step 2: activate k2; k1 retires until the last token it signed expires.
    let until = f.now() + Duration::hours(1);
    f.keys.update(|set| set.activate("k2", until)).unwrap();
    let new_token = f.svc_token();
    assert_eq!(part(&new_token, 0), json!({ "alg": "ES256", "typ": "at+jwt", "kid": "k2" }));
    let states: Vec<_> = f.keys.snapshot().states().map(|(k, s)| (k.to_owned(), s)).collect();
    assert_eq!(states, vec![("k1".to_owned(), KeyState::Retired { until }), ("k2".to_owned(), KeyState::Active)]);
    // Both verify while k1 is in its window.
    assert!(f.verifier().verify(&old_token, f.now()).is_ok());
    assert!(f.verifier().verify(&new_token, f.now()).is_ok());
    // Step 3: after the window k1 verifies nothing, even with a token whose exp is later.
    let late = until + Duration::seconds(1);
    let long_lived = forge(Algorithm::EdDSA, &header(Algorithm::EdDSA), &claims(json!({ "exp": 1_800_000_000 })));
    assert_eq!(f.verifier().verify(&long_lived, late), Err(JwtError::Jose(JoseError::UnknownKid)));
    f.keys
        .update(|set| {
            set.remove_expired(late);
            Ok(())
        })
        .unwrap();
    let jwks: Value = serde_json::from_str(&f.keys.snapshot().jwks(late)).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect::<Vec<_>>(), vec!["k2"]);
}

#[test]
fn jwt01_keys_load_from_pkcs8_and_refuse_the_wrong_algorithm() {
    let pem = include_str!("keys/rsa2048.pem");
    let from_pem = SigningKey::from_pkcs8_pem(Algorithm::RS256, "r", pem).unwrap();
    assert_eq!(from_pem.public_key().to_jwk(), key(Algorithm::RS256, "r").public_key().to_jwk());
    assert!(SigningKey::from_pkcs8_der(Algorithm::ES256, "x", ED25519).is_err());
    assert!(SigningKey::from_pkcs8_der(Algorithm::EdDSA, "x", P256).is_err());
    assert!(SigningKey::from_pkcs8_der(Algorithm::RS256, "x", P256).is_err());
    assert!(SigningKey::from_pkcs8_pem(Algorithm::RS256, "x", "not a pem").is_err());
    assert!(matches!(SigningKey::generate(Algorithm::RS256, "x"), Err(JoseError::KeyRejected(_))));
    assert_eq!(SigningKey::from_pkcs8_der(Algorithm::EdDSA, "", ED25519).unwrap_err(), JoseError::InvalidKeyId);
    let mut set = KeySet::with_active(key(Algorithm::EdDSA, "same"));
    assert_eq!(set.publish(key(Algorithm::ES256, "same")), Err(JoseError::InvalidKeyId));
    // Debug never shows key material.
    assert_eq!(format!("{:?}", key(Algorithm::EdDSA, "k")), r#"SigningKey { kid: "k", alg: EdDSA, .. }"#);
}

/// The JWKS is public and cacheable: exactly one `Cache-Control` (no `no-store`, no `Pragma`
/// contradicting it).
#[test]
fn md03_the_jwks_is_cacheable_with_one_cache_control_header() {
    let f = jwt_fixture(Algorithm::ES256);
    let jwks = f.server.jwks();
    let cache: Vec<_> = jwks.headers().iter().filter(|(name, _)| name.eq_ignore_ascii_case("cache-control")).collect();
    assert_eq!(cache, [("Cache-Control", "public, max-age=300")]);
    assert_eq!(jwks.header("Pragma"), None);
    assert_eq!(jwks.header("Content-Type"), Some("application/json"));
    // Through the `http` conversion too: one header.
    let http: http::Response<Vec<u8>> = jwks.into();
    assert_eq!(http.headers().get_all("cache-control").iter().count(), 1);
}

/// Introspecting a JWT names its `jti`; an opaque token has none to name.
#[test]
fn in03_introspection_of_a_jwt_includes_its_jti() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let (access, _) = f.app_tokens();
    let jti = part(&access, 1)["jti"].as_str().unwrap().to_owned();
    let answer = f.introspect(&access);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["jti"], jti.as_str());
    let (_, refresh) = f.app_tokens();
    assert!(f.introspect(&refresh).get("jti").is_none());
}

#[test]
fn jwt05_a_resource_server_verifies_with_the_published_jwks_alone() {
    for alg in ALGORITHMS {
        let f = jwt_fixture(alg);
        let token = f.svc_token();
        let jwks = block_on(async { f.server.jwks() });
        assert_eq!(jwks.status(), 200);
        let document: Value = serde_json::from_slice(jwks.body()).unwrap();
        let jwk = &document["keys"][0];
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(jwk["alg"], alg.name());
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none() && jwk.get("p").is_none(), "public members only");
        let remote = SharedKeySet::new(KeySet::from_jwks(jwks.body()).unwrap());
        let claims = JwtVerifier::new(remote.clone(), ISSUER, AUDIENCE).verify(&token, f.now()).unwrap();
        assert_eq!(claims.subject.as_str(), "svc");
        // A fixed set, never rotated, verifies the same way.
        let fixed = Arc::new(KeySet::from_jwks(jwks.body()).unwrap());
        assert_eq!(JwtVerifier::new(fixed, ISSUER, AUDIENCE).verify(&token, f.now()).unwrap(), claims);
        // A JWKS-only set verifies but cannot sign.
        assert!(remote.snapshot().signing_key().is_none());
        assert_eq!(PublicKey::from_jwk(jwk).unwrap(), *f.keys.snapshot().verification_key("k1", f.now()).unwrap());
    }
}

#[test]
fn jwt05_jwks_with_private_members_or_mismatched_alg_is_refused() {
    let jwk = key(Algorithm::ES256, "k").public_key().to_jwk();
    let with = |name: &str, value: Value| {
        let mut j = jwk.clone();
        j[name] = value;
        PublicKey::from_jwk(&j)
    };
    assert!(with("d", "AAAA".into()).is_err());
    assert!(with("alg", "RS256".into()).is_err());
    assert!(with("use", "enc".into()).is_err());
    assert!(with("x", "AAAA".into()).is_err());
    assert!(with("crv", "P-384".into()).is_err());
    assert!(with("kid", Value::Null).is_err());
    assert!(KeySet::from_jwks(br#"{"keys":[]}"#).is_ok());
    assert!(KeySet::from_jwks(br#"{"keys":[],"keys":[]}"#).is_err());
    assert!(KeySet::from_jwks(b"[]").is_err());
}

/// An RSA JWK is read only with a minimal big-endian modulus of 2048 to 8192 bits and an
/// exponent of at most 8 bytes; each limit on its own.
#[test]
fn jwt05_rsa_jwks_outside_2048_to_8192_bits_or_not_minimal_are_refused() {
    let rsa = |n: &[u8], e: &[u8]| {
        PublicKey::from_jwk(&json!({
            "kty": "RSA", "kid": "r", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)
        }))
    };
    let exponent = [1u8, 0, 1];
    assert!(rsa(&[0x80; 256], &exponent).is_ok(), "2048 bits");
    assert!(rsa(&[0x80; 1024], &exponent).is_ok(), "8192 bits");
    assert!(rsa(&[0x80; 256], &[1; 8]).is_ok(), "an 8-byte exponent");
    let mut leading_zero = vec![0u8];
    leading_zero.extend([0x80; 256]);
    for (case, n, e) in [
        ("2040 bits", vec![0x80; 255], exponent.to_vec()),
        ("8200 bits", vec![0x80; 1025], exponent.to_vec()),
        ("a modulus with a leading zero", leading_zero, exponent.to_vec()),
        ("an exponent with a leading zero", vec![0x80; 256], vec![0, 1, 0, 1]),
        ("a 9-byte exponent", vec![0x80; 256], vec![1; 9]),
    ] {
        assert!(matches!(rsa(&n, &e), Err(JoseError::InvalidJwk(_))), "{case}");
    }
}

/// A key in a key set is named by its `kid`; a DPoP proof's embedded key needs none.
#[test]
fn jwt05_a_key_set_member_needs_a_kid_and_an_embedded_key_does_not() {
    let mut jwk = key(Algorithm::ES256, "k").public_key().to_jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    assert!(matches!(PublicKey::from_jwk(&jwk), Err(JoseError::InvalidJwk("kid is required"))));
    assert!(PublicKey::from_embedded_jwk(&jwk).is_ok());
}

/// A local key signs a compact JWS with the header `{alg, typ, kid}` that verifies; through the
/// `JwtSigner` seam a key is found by its id and its algorithm together, never by one alone.
#[test]
fn jwt01_a_signer_signs_only_with_the_key_it_names_by_kid_and_algorithm() {
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let set = KeySet::with_active(key(Algorithm::EdDSA, "k1"));
    let token = jose::sign(set.signing_key().unwrap(), "at+jwt", br#"{"sub":"alice"}"#).unwrap();
    assert_eq!(part(&token, 0), json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" }));
    let verified = jose::verify(&set, &token, now).unwrap();
    assert_eq!((verified.kid.as_str(), verified.typ.as_deref()), ("k1", Some("at+jwt")));
    assert_eq!(verified.payload, br#"{"sub":"alice"}"#);
    let signer_key = JwtSigner::signing_key(&set).unwrap();
    assert_eq!(signer_key, SignerKey::new("k1", Algorithm::EdDSA));
    let signature = block_on(set.sign(&signer_key, b"message")).unwrap();
    assert!(set.signing_key().unwrap().public_key().verify(b"message", &signature));
    for wrong in [SignerKey::new("k1", Algorithm::ES256), SignerKey::new("k2", Algorithm::EdDSA)] {
        assert_eq!(block_on(set.sign(&wrong, b"message")), Err(JoseError::UnknownKid), "{wrong:?}");
    }
}

/// A key id is 1 to 128 bytes without control characters, for a private key and in a JWK alike.
#[test]
fn jwt05_a_kid_is_1_to_128_bytes_without_control_characters() {
    let longest = "k".repeat(128);
    assert_eq!(SigningKey::generate(Algorithm::EdDSA, longest.clone()).unwrap().kid(), longest);
    for bad in [String::new(), "k".repeat(129), "k\n1".to_owned(), "k\u{7f}".to_owned()] {
        let refused = SigningKey::generate(Algorithm::EdDSA, bad.clone()).unwrap_err();
        assert_eq!(refused, JoseError::InvalidKeyId, "{bad:?}");
    }
    let mut jwk = key(Algorithm::EdDSA, "k").public_key().to_jwk();
    jwk["kid"] = json!("k".repeat(129));
    assert!(matches!(PublicKey::from_jwk(&jwk), Err(JoseError::InvalidJwk("kid is empty or too long"))));
    jwk["kid"] = json!("k\u{1b}");
    assert!(matches!(PublicKey::from_jwk(&jwk), Err(JoseError::InvalidJwk("kid is empty or too long"))));
    jwk["kid"] = json!(longest);
    assert_eq!(PublicKey::from_jwk(&jwk).unwrap().kid(), longest);
}

/// A verifier names the issuer it accepts, and its `Debug` shows what it checks (issuer,
/// audience, leeway, the leeway capped) and never its keys.
#[test]
fn jwt05_a_verifier_shows_its_issuer_audience_and_capped_leeway() {
    let keys = Arc::new(KeySet::with_active(key(Algorithm::EdDSA, "k1")));
    let verifier = JwtVerifier::new(keys, ISSUER, AUDIENCE).leeway(Duration::hours(1));
    assert_eq!(verifier.issuer(), ISSUER);
    assert_eq!(
        format!("{verifier:?}"),
        format!(
            r#"JwtVerifier {{ issuer: "{ISSUER}", audience: "{AUDIENCE}", leeway: {:?}, .. }}"#,
            oauth21::jwt::MAX_LEEWAY
        )
    );
}

/// `cnf` binds a JWT to a DPoP key by a non-empty `jkt` (RFC 9449 §6.1); any other
/// confirmation, or an empty one, is refused rather than ignored, so a bound token never passes
/// as a bearer token.
#[test]
fn jwt05_cnf_binds_by_a_non_empty_jkt_and_anything_else_is_refused() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let token = |c: Value| forge(Algorithm::EdDSA, &header(Algorithm::EdDSA), &claims(c));
    let bound = f
        .verifier()
        .verify(&token(json!({ "cnf": { "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } })), f.now());
    assert_eq!(bound.unwrap().jkt.as_deref(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    assert_eq!(f.verifier().verify(&token(json!({})), f.now()).unwrap().jkt, None);
    for cnf in [json!({ "jkt": "" }), json!({ "x5t#S256": "abc" }), json!({ "jkt": 1 }), json!("jkt"), json!({})] {
        let refused = f.verifier().verify(&token(json!({ "cnf": cnf })), f.now());
        assert_eq!(refused, Err(JwtError::InvalidClaim("cnf")), "{cnf}");
    }
}

/// A public key shows its id and algorithm; a key without `kid` is named by its thumbprint.
#[test]
fn jwt05_a_public_key_is_named_by_its_kid_or_else_its_thumbprint() {
    let public = key(Algorithm::ES256, "k-2026").public_key().clone();
    assert_eq!(public.kid(), "k-2026");
    assert_eq!(format!("{public:?}"), r#"PublicKey { kid: "k-2026", alg: ES256, .. }"#);
    assert_eq!(PublicKey::from_jwk(&public.to_jwk()).unwrap().kid(), "k-2026");
    let mut jwk = public.to_jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    assert_eq!(PublicKey::from_embedded_jwk(&jwk).unwrap().kid(), public.thumbprint());
}

/// Retiring a key stops its signing at once and its verifying at `until`; an unknown kid is an
/// error, not a silent no-op; and removal really drops the key, not just hides it from the JWKS.
#[test]
fn jwt05_retire_stops_signing_now_and_verifying_at_until_and_removal_drops_the_key() {
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let until = now + Duration::hours(1);
    let mut set = KeySet::with_active(key(Algorithm::EdDSA, "k1"));
    set.publish(key(Algorithm::ES256, "k2")).unwrap();
    assert_eq!(set.retire("k3", until), Err(JoseError::UnknownKey));
    assert_eq!(set.signing_key().map(SigningKey::kid), Some("k1"));
    set.retire("k1", until).unwrap();
    assert!(set.signing_key().is_none(), "a retired key signs no more");
    assert!(set.verification_key("k1", until - Duration::seconds(1)).is_some());
    assert!(set.verification_key("k1", until).is_none());
    let states = |set: &KeySet| set.states().map(|(kid, state)| (kid.to_owned(), state)).collect::<Vec<_>>();
    assert_eq!(states(&set), vec![("k1".into(), KeyState::Retired { until }), ("k2".into(), KeyState::Published)]);
    set.remove_expired(until - Duration::seconds(1));
    assert_eq!(states(&set).len(), 2, "a key still in its window stays");
    set.remove_expired(until);
    assert_eq!(states(&set), vec![("k2".into(), KeyState::Published)]);
}

#[test]
fn md03_metadata_lists_jwks_uri_when_jwts_are_issued() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let metadata = json(&f.server.metadata());
    assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/jwks.json"));
    let opaque = fixture();
    assert!(json(&opaque.server.metadata()).get("jwks_uri").is_none());
    assert_eq!(opaque.server.jwks().status(), 404);
}

#[test]
fn jwt03_jwt_tokens_need_an_audience_and_a_signing_key() {
    let no_audience = ServerConfig::builder(ISSUER).access_token_format(AccessTokenFormat::Jwt).build();
    assert_eq!(no_audience.unwrap_err(), ConfigError::JwtNeedsAudience);
    // JWTs configured but the keys have no signing key (only published ones): server_error,
    // and nothing stored.
    let base = fixture();
    let mut set = KeySet::new();
    set.publish(key(Algorithm::EdDSA, "k1")).unwrap();
    let keys = SharedKeySet::new(set);
    let server = Server::with_providers(config(), base.store.clone(), base.clock.clone(), SystemRandom::new())
        .with_jwt_keys(keys);
    let body = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret&scope=read";
    let response = block_on(server.token(&Request::form_post(body.as_bytes())));
    assert_eq!(response.status(), 500);
    assert_eq!(json(&response)["error"], "server_error");
    // And with keys that have no JWT set at all.
    let server = Server::with_providers(config(), base.store.clone(), base.clock.clone(), SystemRandom::new());
    let response = block_on(server.token(&Request::form_post(body.as_bytes())));
    assert_eq!(response.status(), 500);
}

/// An opaque-token server where client `api-client` chose JWTs and `plain` did not, with the
/// keys that sign them.
fn mixed_format_server() -> (Server<Arc<MemoryStore>>, Arc<MemoryStore>, Arc<ManualClock>, SharedKeySet) {
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::confidential("api-client", &ClientSecret::new("s"))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .access_token_format(AccessTokenFormat::Jwt)
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("plain", &ClientSecret::new("s"))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    let config = ServerConfig::builder(ISSUER).access_token_audience(AUDIENCE).build().unwrap();
    let keys = SharedKeySet::new(KeySet::with_active(key(Algorithm::EdDSA, "k1")));
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let server =
        Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new()).with_jwt_keys(keys.clone());
    (server, store, clock, keys)
}

fn client_credentials_token(server: &Server<Arc<MemoryStore>>, client: &str) -> String {
    let body = format!("grant_type=client_credentials&client_id={client}&client_secret=s&scope=read");
    json(&block_on(server.token(&Request::form_post(body.as_bytes()))))["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn jwt01_a_client_registration_can_choose_jwts_on_an_opaque_server() {
    let (server, ..) = mixed_format_server();
    assert_eq!(client_credentials_token(&server, "api-client").split('.').count(), 3);
    assert!(!client_credentials_token(&server, "plain").contains('.'));
}

#[test]
fn jwt05_a_resource_server_that_accepts_jwts_still_accepts_the_servers_opaque_tokens() {
    let (server, store, clock, keys) = mixed_format_server();
    let checker = BearerChecker::new(store, clock, "api")
        .unwrap()
        .require_audience(AUDIENCE)
        .accept_jwt(JwtVerifier::new(keys, ISSUER, AUDIENCE));
    for client in ["api-client", "plain"] {
        let header = format!("Bearer {}", client_credentials_token(&server, client));
        let request = Request::get("").with_authorization(header.as_bytes());
        let record = block_on(checker.check(&request, &Scope::parse("read").unwrap()))
            .unwrap_or_else(|e| panic!("{client}'s token: {e:?}"));
        assert_eq!(record.client_id.as_str(), client);
    }
}

/// The offline check (`JwtVerifier::check`): every scope required, and each refusal mapped to
/// its resource-server error (expired, another audience, a verifier without keys).
#[test]
fn jwt05_the_offline_check_needs_every_scope_and_maps_each_refusal() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let header = format!("Bearer {}", f.svc_token());
    let request = Request::get("").with_authorization(header.as_bytes());
    let read = Scope::parse("read").unwrap();
    let claims = f.verifier().check(&request, &read, f.now()).expect("a read token for read");
    assert_eq!(claims.scope, read);
    let write = Scope::parse("read write").unwrap();
    assert_eq!(f.verifier().check(&request, &write, f.now()), Err(BearerError::InsufficientScope(write)));
    assert_eq!(
        f.verifier().check(&request, &read, f.now() + Duration::days(1)),
        Err(BearerError::InvalidToken("the access token expired"))
    );
    let elsewhere = JwtVerifier::new(f.keys.clone(), ISSUER, "https://other.example");
    assert_eq!(
        elsewhere.check(&request, &read, f.now()),
        Err(BearerError::InvalidToken("the access token is meant for another resource"))
    );
    // A key source that has nothing yet (keys still loading, say): the resource server is
    // unavailable, the token is not called invalid.
    struct NotYet;
    impl jose::VerificationKeys for NotYet {
        fn verification_keys(&self) -> Option<Arc<KeySet>> {
            None
        }
    }
    let keyless = JwtVerifier::new(NotYet, ISSUER, AUDIENCE);
    assert_eq!(keyless.check(&request, &read, f.now()), Err(BearerError::Unavailable));
}

#[test]
fn jwt05_revoking_a_jwt_is_seen_by_resource_servers_that_share_the_store() {
    let f = jwt_fixture(Algorithm::ES256);
    let token = f.svc_token();
    let checker = BearerChecker::new(f.store.clone(), f.clock.clone(), "api")
        .unwrap()
        .require_audience(AUDIENCE)
        .accept_jwt(f.verifier());
    let header = format!("Bearer {token}");
    let request = Request::get("").with_authorization(header.as_bytes());
    let record = block_on(checker.check(&request, &Scope::parse("read").unwrap())).unwrap();
    assert_eq!(record.client_id.as_str(), "svc");
    // The offline verifier alone cannot know about revocation; the store-backed check can.
    let revoke = format!("token={token}&client_id=svc&client_secret=svc-secret");
    assert_eq!(block_on(f.server.revoke(&Request::form_post(revoke.as_bytes()))).status(), 200);
    assert!(f.verifier().verify(&token, f.now()).is_ok());
    let error = block_on(checker.check(&request, &Scope::parse("read").unwrap())).unwrap_err();
    assert_eq!(checker.response(&error).status(), 401);
}

#[test]
fn jwt05_refresh_replay_revokes_the_family_jwts_included() {
    let f = jwt_fixture(Algorithm::EdDSA);
    let (access, refresh) = f.app_tokens();
    let refreshed = f.token(&format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}"), None);
    assert_eq!(refreshed.status(), 200);
    let second = json(&refreshed)["access_token"].as_str().unwrap().to_owned();
    assert!(f.verifier().verify(&second, f.now()).is_ok());
    assert_eq!(f.introspect(&second)["active"], true);
    // Replaying the rotated-out refresh token (later than the rotation, so not a race lost
    // to it) revokes the grant: both JWTs go inactive.
    f.clock.advance(Duration::seconds(1));
    let replay = f.token(&format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}"), None);
    assert_eq!(replay.status(), 400);
    assert_eq!(f.introspect(&access), json!({ "active": false }));
    assert_eq!(f.introspect(&second), json!({ "active": false }));
}

#[test]
fn jwt05_introspection_answers_for_jwts_and_never_for_their_jti_alone() {
    let f = jwt_fixture(Algorithm::RS256);
    let (access, _) = f.app_tokens();
    let answer = f.introspect(&access);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["sub"], "alice");
    assert_eq!(answer["aud"], AUDIENCE);
    let jti = part(&access, 1)["jti"].as_str().unwrap().to_owned();
    assert_eq!(f.introspect(&jti), json!({ "active": false }));
    assert_eq!(f.introspect(&format!("jti%3A{jti}")), json!({ "active": false }));
    // A forged JWT with the same jti but not signed by the server finds nothing either.
    let other = KeySet::with_active(key(Algorithm::EdDSA, "k1"));
    let forged = jose::sign(other.signing_key().unwrap(), "at+jwt", claims(json!({ "jti": jti })).as_bytes()).unwrap();
    assert_eq!(f.introspect(&forged), json!({ "active": false }));
    // Expired: inactive, by the record's expiry.
    f.clock.advance(Duration::hours(2));
    assert_eq!(f.introspect(&access), json!({ "active": false }));
}

#[test]
fn jwt04_a_user_subject_equal_to_a_client_id_is_never_approved() {
    // `svc` is a client whose client_credentials tokens carry `sub: svc`: a user called `svc`
    // would get tokens a resource server could not tell apart from the client's.
    let f = jwt_fixture(Algorithm::EdDSA);
    let query = app_query("&scope=read");
    let oauth21::AuthorizeOutcome::Consent(consent) = block_on(f.server.authorize(&Request::get(&query))) else {
        panic!("consent expected")
    };
    let refused = block_on(f.server.approve(&consent, Approval::new(Subject::new("svc").unwrap())));
    assert_eq!(refused.unwrap_err(), oauth21::ApprovalError::SubjectIsAClientId);
    assert_eq!(f.store.counts().0, 0, "no code was issued");
    let approved =
        block_on(f.server.approve(&consent, Approval::new(Subject::new("user:svc").unwrap()))).unwrap().into_response();
    assert_eq!(approved.status(), 302);
}
