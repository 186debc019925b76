//! `private_key_jwt` client authentication (RFC 7523, draft-ietf-oauth-rfc7523bis; CA-01..CA-05):
//! assertions made by an independent JOSE implementation (`jsonwebtoken`) for every algorithm,
//! the audience rule strict and under the compatibility setting, each claim refusal, replay
//! (also by two concurrent requests), and the one-method rule at every endpoint.

mod common;

use std::sync::{Arc, Barrier};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use jsonwebtoken::{EncodingKey, Header};
use oauth21::client::{AuthFailure, basic_auth_header};
use oauth21::hooks::{HookFuture, Hooks, SecurityEvent};
use oauth21::jose::{Algorithm, SigningKey};
use oauth21::{
    AssertionAudience, Client, ClientId, ClientSecret, Clock, GrantType, Request, Response, Server, ServerConfig,
    SystemRandom,
};
use ring::signature::Ed25519KeyPair;
use serde_json::{Value, json};

const RSA_PKCS8: &[u8] = include_bytes!("keys/rsa2048.pk8.der");
const TOKEN_URL: &str = "https://as.example/token";

/// An assertion signed by `jsonwebtoken`, header `{alg, kid, typ}`.
fn their_assertion(key: &Key, kid: Option<&str>, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(key.their_alg());
    header.kid = kid.map(str::to_owned);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.theirs).unwrap()
}

/// A compact JWS with any header, signed by `sign` over the signing input.
fn raw_jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Registers `id` as a client_credentials client with `keys`, optionally pinned to `alg`.
fn register(fx: &Fixture, id: &str, keys: &[&SigningKey], alg: Option<Algorithm>) {
    let mut builder =
        Client::private_key_jwt(id, client_keys(keys)).grant_types([GrantType::ClientCredentials]).scope("read");
    if let Some(alg) = alg {
        builder = builder.assertion_alg(alg);
    }
    fx.store.insert_client(builder.build().unwrap());
}

fn now(fx: &Fixture) -> i64 {
    fx.clock.now().unix_timestamp()
}

/// A client_credentials request authenticated by `assertion`.
fn grant(fx: &Fixture, assertion: &str) -> Response {
    fx.token(&format!("grant_type=client_credentials&scope=read&{}", assertion_params(assertion)), None)
}

fn error_code(response: &Response) -> String {
    json(response)["error"].as_str().unwrap_or_default().to_owned()
}

/// The response is the `invalid_client` refusal of a body-authenticated request: 400, no challenge.
#[track_caller]
fn assert_invalid_client(response: &Response) {
    assert_eq!(error_code(response), "invalid_client", "{}", String::from_utf8_lossy(response.body()));
    assert_eq!(response.status(), 400);
    assert_eq!(response.header("WWW-Authenticate"), None);
}

#[track_caller]
fn assert_ok(response: &Response) {
    assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    assert!(json(response)["access_token"].is_string());
}

/// `jwt-svc`'s valid claims at the fixture's time, with `changes` applied (`null` removes).
fn claims_with(fx: &Fixture, changes: Value) -> Value {
    let mut claims = assertion_claims(JWT_CLIENT, now(fx));
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// `jwt-svc`'s assertion with `changes` to its claims, signed with its registered key.
fn jwt_svc_assertion(fx: &Fixture, changes: Value) -> String {
    sign_assertion(jwt_client_key(), &claims_with(fx, changes))
}

// ---- CA-01: type, one assertion, iss = sub = client_id, the client's key, pinned algorithm ----

#[test]
fn ca01_assertions_signed_by_jsonwebtoken_authenticate_for_every_algorithm() {
    let fx = fixture();
    for key in keys("k1") {
        let id = format!("client-{}", key.alg.name());
        register(&fx, &id, &[&key.ours], None);
        let claims = assertion_claims(&id, now(&fx));
        assert_ok(&grant(&fx, &their_assertion(&key, Some("k1"), Some("JWT"), &claims)));
        // The explicit type of rfc7523bis, and no type at all, are accepted too.
        let claims = assertion_claims(&id, now(&fx));
        assert_ok(&grant(&fx, &their_assertion(&key, Some("k1"), Some("client-authentication+jwt"), &claims)));
        let claims = assertion_claims(&id, now(&fx));
        assert_ok(&grant(&fx, &their_assertion(&key, Some("k1"), None, &claims)));
        let claims = assertion_claims(&id, now(&fx));
        assert_ok(&grant(&fx, &their_assertion(&key, Some("k1"), Some("jwt"), &claims)));
        // Many clients sign without `kid`: with a single registered key, that key is the one.
        let claims = assertion_claims(&id, now(&fx));
        assert_ok(&grant(&fx, &their_assertion(&key, None, Some("JWT"), &claims)));
    }
}

#[test]
fn ca01_the_issued_token_belongs_to_the_asserting_client() {
    let fx = fixture();
    let response = grant(&fx, &fx.jwt_client_assertion());
    assert_ok(&response);
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let body = format!("token={token}&{}", assertion_params(&fx.jwt_client_assertion()));
    let introspection = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!(json(&introspection)["client_id"], JWT_CLIENT);
}

#[test]
fn ca01_without_kid_a_client_with_several_keys_is_refused() {
    let fx = fixture();
    let ed = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap().as_ref().to_vec();
    let first = Key {
        alg: Algorithm::EdDSA,
        ours: SigningKey::from_pkcs8_der(Algorithm::EdDSA, "old", &ed).unwrap(),
        theirs: EncodingKey::from_ed_der(&ed),
    };
    let second = keys("new").remove(0);
    register(&fx, "rotating", &[&first.ours, &second.ours], None);
    // Rotation: both keys work when named.
    assert_ok(&grant(&fx, &their_assertion(&first, Some("old"), None, &assertion_claims("rotating", now(&fx)))));
    assert_ok(&grant(&fx, &their_assertion(&second, Some("new"), None, &assertion_claims("rotating", now(&fx)))));
    // Unnamed, the server does not guess among them.
    assert_invalid_client(&grant(&fx, &their_assertion(&first, None, None, &assertion_claims("rotating", now(&fx)))));
}

#[test]
fn ca01_unknown_kid_and_a_key_the_client_never_registered_are_refused() {
    let fx = fixture();
    let stranger = keys("jwt-svc-1").remove(0);
    let claims = assertion_claims(JWT_CLIENT, now(&fx));
    // Same kid as the registered key, another key: the signature does not verify.
    assert_invalid_client(&grant(&fx, &their_assertion(&stranger, Some("jwt-svc-1"), None, &claims)));
    // A kid the client never registered.
    let claims = assertion_claims(JWT_CLIENT, now(&fx));
    assert_invalid_client(&grant(&fx, &their_assertion(&stranger, Some("other"), None, &claims)));
}

#[test]
fn ca01_wrong_iss_or_sub_is_refused() {
    let fx = fixture();
    for changes in [
        json!({ "iss": "svc" }),
        json!({ "iss": null }),
        json!({ "iss": "" }),
        json!({ "iss": 7 }),
        json!({ "sub": "svc" }),
        json!({ "sub": null }),
        json!({ "iss": "svc", "sub": "svc" }),
    ] {
        let response = grant(&fx, &jwt_svc_assertion(&fx, changes.clone()));
        assert_eq!(error_code(&response), "invalid_client", "{changes}");
    }
}

#[test]
fn ca01_an_assertion_signed_with_another_clients_key_cannot_name_that_client() {
    // Client B signs with its own key and claims to be jwt-svc, as iss and sub or as sub only.
    let fx = fixture();
    let b = keys("b1").remove(1);
    register(&fx, "client-b", &[&b.ours], None);
    let claims = assertion_claims(JWT_CLIENT, now(&fx));
    assert_invalid_client(&grant(&fx, &their_assertion(&b, Some("b1"), None, &claims)));
    let claims = json!({ "iss": "client-b", "sub": JWT_CLIENT, "aud": ISSUER, "exp": now(&fx) + 60, "jti": "x1" });
    assert_invalid_client(&grant(&fx, &their_assertion(&b, Some("b1"), None, &claims)));
}

#[test]
fn ca01_a_client_id_sent_beside_the_assertion_must_name_the_same_client() {
    let fx = fixture();
    let body = |id: &str, assertion: &str| {
        format!("grant_type=client_credentials&scope=read&client_id={id}&{}", assertion_params(assertion))
    };
    assert_ok(&fx.token(&body(JWT_CLIENT, &fx.jwt_client_assertion()), None));
    let response = fx.token(&body("svc", &fx.jwt_client_assertion()), None);
    assert_eq!(response.status(), 400);
    assert!(["invalid_client", "invalid_request"].contains(&error_code(&response).as_str()));
}

#[test]
fn ca01_wrong_algorithm_for_the_key_is_refused() {
    let fx = fixture();
    let claims = assertion_claims(JWT_CLIENT, now(&fx));
    // The Ed25519 key's kid with an RS256 header, signed by an RSA key.
    let header = json!({ "alg": "RS256", "kid": "jwt-svc-1" });
    let forged = raw_jws(&header, &claims, |input| {
        let pair = ring::signature::RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap();
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), input, &mut signature).unwrap();
        signature
    });
    assert_invalid_client(&grant(&fx, &forged));
    // And the right key's signature under a header naming another algorithm.
    let header = json!({ "alg": "ES256", "kid": "jwt-svc-1" });
    let ed = Ed25519KeyPair::from_pkcs8_maybe_unchecked(include_bytes!("keys/ed25519.pk8.der")).unwrap();
    let mislabelled = raw_jws(&header, &claims, |input| ed.sign(input).as_ref().to_vec());
    assert_invalid_client(&grant(&fx, &mislabelled));
}

#[test]
fn ca01_alg_none_is_refused() {
    let fx = fixture();
    let claims = assertion_claims(JWT_CLIENT, now(&fx));
    for header in [json!({ "alg": "none", "kid": "jwt-svc-1" }), json!({ "alg": "none" })] {
        let unsigned = raw_jws(&header, &claims, |_| Vec::new());
        assert_invalid_client(&grant(&fx, &unsigned));
        // With the trailing dot removed as well.
        assert_invalid_client(&grant(&fx, unsigned.trim_end_matches('.')));
    }
}

#[test]
fn ca01_hs256_keyed_with_the_public_key_is_refused() {
    let fx = fixture();
    let public = jwt_client_key().public_key().to_jwk();
    let secrets = [
        public.to_string().into_bytes(),
        URL_SAFE_NO_PAD.decode(public["x"].as_str().unwrap()).unwrap(),
        public["x"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for secret in secrets {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("jwt-svc-1".into());
        let claims = assertion_claims(JWT_CLIENT, now(&fx));
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_invalid_client(&grant(&fx, &token));
    }
}

#[test]
fn ca01_the_registered_algorithm_is_pinned() {
    let fx = fixture();
    let mut pair = keys("ed");
    let rsa = pair.remove(2);
    let ed = pair.remove(0);
    let rsa_ours = SigningKey::from_pkcs8_der(Algorithm::RS256, "rsa", RSA_PKCS8).unwrap();
    register(&fx, "pinned", &[&ed.ours, &rsa_ours], Some(Algorithm::EdDSA));
    assert_ok(&grant(&fx, &their_assertion(&ed, Some("ed"), None, &assertion_claims("pinned", now(&fx)))));
    // The RSA key is registered, but the registration allows EdDSA only.
    assert_invalid_client(&grant(
        &fx,
        &their_assertion(&rsa, Some("rsa"), None, &assertion_claims("pinned", now(&fx))),
    ));
    // A pinned algorithm no registered key has is a registration error.
    let only_rsa = client_keys(&[&rsa_ours]);
    let refused = Client::private_key_jwt("bad", only_rsa).assertion_alg(Algorithm::EdDSA).build();
    assert!(refused.is_err());
}

#[test]
fn ca01_other_kinds_of_jwt_are_not_assertions() {
    let fx = fixture();
    let key =
        SigningKey::from_pkcs8_der(Algorithm::EdDSA, "jwt-svc-1", include_bytes!("keys/ed25519.pk8.der")).unwrap();
    let ours = oauth21::jose::KeySet::with_active(key);
    for typ in ["at+jwt", "dpop+jwt", "JOSE", "secevent+jwt"] {
        let claims = assertion_claims(JWT_CLIENT, now(&fx));
        let token = block_on(oauth21::jose::sign_with(&ours, typ, claims.to_string().as_bytes())).unwrap();
        assert_invalid_client(&grant(&fx, &token));
    }
}

#[test]
fn ca01_assertion_parameters_are_strict() {
    let fx = fixture();
    let assertion = fx.jwt_client_assertion();
    let cases = [
        // Wrong or missing type.
        format!(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Asaml2-bearer&client_assertion={assertion}"
        ),
        format!("client_assertion={assertion}"),
        format!("client_assertion_type={}", JWT_BEARER.replace(':', "%3A")),
        // Not a JWT, an empty one, a JWE-shaped one.
        assertion_params("not-a-jwt"),
        assertion_params(""),
        assertion_params("a.b.c.d.e"),
    ];
    for params in cases {
        let response = fx.token(&format!("grant_type=client_credentials&scope=read&{params}"), None);
        assert_eq!(response.status(), 400, "{params}");
        assert!(["invalid_client", "invalid_request"].contains(&error_code(&response).as_str()), "{params}");
    }
    // Two assertions: refused as a repeated parameter.
    let body = format!(
        "grant_type=client_credentials&scope=read&{}&client_assertion={assertion}",
        assertion_params(&assertion)
    );
    assert_eq!(error_code(&fx.token(&body, None)), "invalid_request");
    // The untouched assertion still works: none of the above consumed it.
    assert_ok(&grant(&fx, &assertion));
}

#[test]
fn ca01_public_and_secret_clients_cannot_use_assertions() {
    let fx = fixture();
    let key = keys("k").remove(0);
    for id in ["app", "svc"] {
        let claims = assertion_claims(id, now(&fx));
        assert_invalid_client(&grant(&fx, &their_assertion(&key, Some("k"), None, &claims)));
    }
    // And the keyed client cannot fall back to a secret it does not have.
    let body =
        format!("grant_type=client_credentials&scope=read&client_id={JWT_CLIENT}&client_secret=anything-at-all-long");
    assert_eq!(error_code(&fx.token(&body, None)), "invalid_client");
    let body = format!("grant_type=client_credentials&scope=read&client_id={JWT_CLIENT}");
    assert_eq!(error_code(&fx.token(&body, None)), "invalid_client");
}

#[test]
fn ca01_a_client_may_have_both_a_secret_and_keys() {
    let fx = fixture();
    let key = keys("k").remove(1);
    let client = Client::confidential("both", &ClientSecret::new("a-secret-of-enough-length"))
        .keys(client_keys(&[&key.ours]))
        .grant_types([GrantType::ClientCredentials])
        .scope("read")
        .build()
        .unwrap();
    fx.store.insert_client(client);
    let basic = basic_auth_header("both", "a-secret-of-enough-length");
    assert_ok(&fx.token("grant_type=client_credentials&scope=read", Some(&basic)));
    assert_ok(&grant(&fx, &their_assertion(&key, Some("k"), None, &assertion_claims("both", now(&fx)))));
}

// ---- CA-02: the audience ----

/// Every audience shape, and whether the strict default and the compatibility setting accept it.
fn audience_cases() -> Vec<(Value, bool, bool)> {
    vec![
        (json!(ISSUER), true, true),
        (json!([ISSUER]), false, true),
        (json!(TOKEN_URL), false, true),
        (json!([TOKEN_URL]), false, true),
        (json!("https://as.example/par"), false, false),
        (json!("https://as.example/introspect"), false, false),
        (json!("https://evil.example"), false, false),
        (json!(format!("{ISSUER}/")), false, false),
        (json!([ISSUER, "https://evil.example"]), false, false),
        (json!([ISSUER, TOKEN_URL]), false, false),
        (json!([]), false, false),
        (json!(null), false, false),
        (json!(42), false, false),
    ]
}

#[test]
fn ca02_strict_default_accepts_only_the_issuer_as_a_single_string() {
    let fx = fixture();
    for (aud, strict, _) in audience_cases() {
        let assertion = jwt_svc_assertion(&fx, json!({ "aud": aud }));
        let response = grant(&fx, &assertion);
        if strict {
            assert_ok(&response);
        } else {
            assert_invalid_client(&response);
        }
    }
}

#[test]
fn ca02_the_compatibility_setting_adds_the_token_endpoint_and_one_element_arrays_only() {
    let config = ServerConfig::builder(ISSUER)
        .client_assertion_audience(AssertionAudience::IssuerOrTokenEndpoint)
        .build()
        .unwrap();
    let fx = fixture_with(config);
    for (aud, _, compat) in audience_cases() {
        let response = grant(&fx, &jwt_svc_assertion(&fx, json!({ "aud": aud.clone() })));
        assert_eq!(response.status() == 200, compat, "{aud}: {}", String::from_utf8_lossy(response.body()));
    }
}

#[test]
fn ca02_audience_injection_an_assertion_for_another_server_is_refused() {
    // A malicious server (its token endpoint URL as aud) replays a client's assertion here.
    let fx = fixture();
    let evil = jwt_svc_assertion(&fx, json!({ "aud": "https://evil.example/token" }));
    assert_invalid_client(&grant(&fx, &evil));
    let evil = jwt_svc_assertion(&fx, json!({ "aud": ["https://evil.example/token", ISSUER] }));
    assert_invalid_client(&grant(&fx, &evil));
}

// ---- CA-03: exp, lifetime cap, iat/nbf ----

#[test]
fn ca03_exp_is_required_and_must_be_in_the_future() {
    let fx = fixture();
    let t = now(&fx);
    for changes in [
        json!({ "exp": null }),
        json!({ "exp": t }),
        json!({ "exp": t - 1 }),
        json!({ "exp": (t + 60).to_string() }),
        json!({ "exp": (t + 60) as f64 + 0.5 }),
        json!({ "exp": i64::MAX }),
    ] {
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, changes.clone())));
    }
    assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "exp": t + 1 }))));
}

#[test]
fn ca03_the_lifetime_is_capped_at_five_minutes_by_default() {
    let fx = fixture();
    let t = now(&fx);
    assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": t, "exp": t + 300 }))));
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": t, "exp": t + 301 }))));
    // An old iat does not buy a longer life, and neither does leaving iat out.
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": t - 200, "exp": t + 200 }))));
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": null, "exp": t + 3600 }))));
    assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": null, "exp": t + 60 }))));
}

#[test]
fn ca03_the_cap_is_configurable() {
    let config =
        ServerConfig::builder(ISSUER).client_assertion_max_lifetime(time::Duration::seconds(60)).build().unwrap();
    let fx = fixture_with(config);
    let t = now(&fx);
    assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "exp": t + 60 }))));
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "exp": t + 61 }))));
    // Longer than an hour is not a client assertion any more: refused at configuration.
    let too_long = ServerConfig::builder(ISSUER).client_assertion_max_lifetime(time::Duration::hours(2)).build();
    assert!(too_long.is_err());
}

#[test]
fn ca03_iat_and_nbf_up_to_ten_seconds_ahead_are_accepted_a_minute_is_not() {
    let fx = fixture();
    let t = now(&fx);
    for ahead in [1, 10] {
        assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": t + ahead, "exp": t + 60 }))));
        assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "nbf": t + ahead }))));
    }
    for ahead in [11, 60, 3600] {
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": t + ahead, "exp": t + 90 }))));
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "nbf": t + ahead }))));
    }
    for wrong in [json!("now"), json!(1.5), json!(true)] {
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "iat": wrong.clone() }))));
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "nbf": wrong }))));
    }
}

// ---- CA-04: jti, claimed once after every other check ----

#[test]
fn ca04_an_assertion_replayed_is_refused() {
    let fx = fixture();
    let assertion = fx.jwt_client_assertion();
    assert_ok(&grant(&fx, &assertion));
    assert_invalid_client(&grant(&fx, &assertion));
    // Also at another endpoint, and after time passed (still before exp).
    fx.clock.advance(time::Duration::seconds(30));
    let body = format!("token=whatever&{}", assertion_params(&assertion));
    let response = block_on(fx.server.revoke(&Request::form_post(body.as_bytes())));
    assert_eq!(error_code(&response), "invalid_client");
    let events = fx.events.take();
    assert!(
        events.iter().any(|e| matches!(
            e,
            SecurityEvent::ClientAuthenticationFailed { reason: AuthFailure::AssertionReplayed, client_id: Some(id) }
                if id.as_str() == JWT_CLIENT
        )),
        "{events:?}"
    );
}

#[test]
fn ca04_jti_is_required_and_bounded() {
    let fx = fixture();
    for jti in [json!(null), json!(""), json!(12), json!("x".repeat(257))] {
        assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "jti": jti }))));
    }
}

#[test]
fn ca04_a_refused_assertion_does_not_burn_its_jti() {
    let fx = fixture();
    // Refused for its audience: its jti is not recorded...
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "jti": "j-1", "aud": "https://evil.example" }))));
    // ...nor when the signature is not the client's.
    let stranger = keys("jwt-svc-1").remove(0);
    let claims = claims_with(&fx, json!({ "jti": "j-1" }));
    assert_invalid_client(&grant(&fx, &their_assertion(&stranger, Some("jwt-svc-1"), None, &claims)));
    // So the client's real assertion with that jti goes through, once.
    let real = jwt_svc_assertion(&fx, json!({ "jti": "j-1" }));
    assert_ok(&grant(&fx, &real));
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "jti": "j-1" }))));
}

#[test]
fn ca04_jti_is_per_client() {
    let fx = fixture();
    let key = keys("k").remove(1);
    register(&fx, "other", &[&key.ours], None);
    assert_ok(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "jti": "shared" }))));
    let claims = json!({ "iss": "other", "sub": "other", "aud": ISSUER, "exp": now(&fx) + 60, "jti": "shared" });
    assert_ok(&grant(&fx, &their_assertion(&key, Some("k"), None, &claims)));
}

#[test]
fn ca04_two_concurrent_uses_of_one_assertion_exactly_one_succeeds() {
    for _ in 0..20 {
        let fx = fixture();
        let assertion = fx.jwt_client_assertion();
        let barrier = Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        grant(&fx, &assertion).status()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, [200, 400], "{statuses:?}");
    }
}

/// A limiter that refuses every check and counts how often it was asked.
#[derive(Default)]
struct Refusing(std::sync::atomic::AtomicUsize);

impl Hooks for Refusing {
    fn allow_secret_check(&self, _client_id: &ClientId) -> HookFuture<'_, bool> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        HookFuture::ready(false)
    }
}

#[test]
fn ca04_the_limiter_is_asked_before_an_assertion_is_checked_and_nothing_is_claimed() {
    let fx = fixture();
    let limiter = Arc::new(Refusing::default());
    let limited = Server::with_providers(
        ServerConfig::builder(ISSUER).build().unwrap(),
        fx.store.clone(),
        fx.clock.clone(),
        SystemRandom::new(),
    )
    .with_hooks(limiter.clone());
    let assertion = fx.jwt_client_assertion();
    let body = format!("grant_type=client_credentials&scope=read&{}", assertion_params(&assertion));
    let response = block_on(limited.token(&Request::form_post(body.as_bytes())));
    assert_eq!(error_code(&response), "invalid_client");
    assert_eq!(limiter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The refused attempt did not consume the assertion.
    assert_ok(&grant(&fx, &assertion));
}

// ---- CA-05: every endpoint, one method per request ----

#[test]
fn ca05_assertions_authenticate_at_revocation_and_introspection() {
    let fx = fixture();
    let token = json(&grant(&fx, &fx.jwt_client_assertion()))["access_token"].as_str().unwrap().to_owned();
    let body = format!("token={token}&{}", assertion_params(&fx.jwt_client_assertion()));
    let response = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!(json(&response)["active"], true);
    let body = format!("token={token}&{}", assertion_params(&fx.jwt_client_assertion()));
    assert_eq!(block_on(fx.server.revoke(&Request::form_post(body.as_bytes()))).status(), 200);
    let body = format!("token={token}&{}", assertion_params(&fx.jwt_client_assertion()));
    let response = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!(json(&response)["active"], false);
    // A bad assertion at introspection is invalid_client, 401.
    let bad = jwt_svc_assertion(&fx, json!({ "aud": TOKEN_URL }));
    let body = format!("token={token}&{}", assertion_params(&bad));
    let response = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!((response.status(), error_code(&response).as_str()), (401, "invalid_client"));
}

#[test]
fn ca05_an_assertion_with_a_secret_or_basic_credentials_is_refused_everywhere() {
    let fx = fixture();
    let basic = basic_auth_header(JWT_CLIENT, "anything-at-all-long");
    type Endpoint = fn(&Fixture, &Request<'_>) -> Response;
    let endpoints: [(&str, &str, Endpoint); 3] = [
        ("token", "grant_type=client_credentials&scope=read", |fx, r| block_on(fx.server.token(r))),
        ("revoke", "token=t", |fx, r| block_on(fx.server.revoke(r))),
        ("introspect", "token=t", |fx, r| block_on(fx.server.introspect(r))),
    ];
    for (name, params, call) in endpoints {
        let assertion = fx.jwt_client_assertion();
        let with_secret = format!("{params}&{}&client_secret=anything-at-all-long", assertion_params(&assertion));
        let response = call(&fx, &Request::form_post(with_secret.as_bytes()));
        assert_eq!(response.status() / 100, 4, "{name}");
        assert_ne!(response.status(), 200, "{name}");
        assert!(["invalid_request", "invalid_client"].contains(&error_code(&response).as_str()), "{name}");
        let with_basic = format!("{params}&{}", assertion_params(&assertion));
        let request = Request::form_post(with_basic.as_bytes()).with_authorization(basic.as_bytes());
        let response = call(&fx, &request);
        assert!(["invalid_request", "invalid_client"].contains(&error_code(&response).as_str()), "{name}");
        // Neither refusal consumed the assertion.
        let alone = format!("{params}&{}", assertion_params(&assertion));
        let response = call(&fx, &Request::form_post(alone.as_bytes()));
        assert_eq!(response.status(), 200, "{name}: {}", String::from_utf8_lossy(response.body()));
    }
}

#[test]
fn ca05_an_assertion_in_the_query_is_refused() {
    let fx = fixture();
    let query = assertion_params(&fx.jwt_client_assertion());
    let request = Request::form_post(b"grant_type=client_credentials&scope=read").with_query(query.as_bytes());
    let response = block_on(fx.server.token(&request));
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&response), "invalid_request");
}

#[test]
fn ca05_failed_assertions_are_reported_as_security_events() {
    let fx = fixture();
    fx.events.take();
    assert_invalid_client(&grant(&fx, &jwt_svc_assertion(&fx, json!({ "aud": "https://evil.example" }))));
    let events = fx.events.take();
    assert!(
        events.iter().any(|e| matches!(
            e,
            SecurityEvent::ClientAuthenticationFailed { reason: AuthFailure::InvalidAssertion, client_id: Some(id) }
                if id.as_str() == JWT_CLIENT
        )),
        "{events:?}"
    );
}

/// CA-01: the assertion and its type come together; either alone is a malformed client
/// authentication, never ignored (a public client sending one would otherwise pass as itself).
#[test]
fn ca01_an_assertion_without_its_type_or_a_type_without_an_assertion_is_refused() {
    let fx = fixture();
    let assertion = fx.jwt_client_assertion();
    let type_only = format!(
        "grant_type=refresh_token&client_id=app&refresh_token=unknown&client_assertion_type={}",
        JWT_BEARER.replace(':', "%3A")
    );
    let assertion_only =
        format!("grant_type=refresh_token&client_id=app&refresh_token=unknown&client_assertion={assertion}");
    for body in [type_only, assertion_only] {
        let response = fx.token(&body, None);
        assert_eq!(json(&response)["error"], "invalid_client", "{body}");
    }
}

/// An assertion exactly as long as the longest token the server reads (8 KiB) is read and
/// verified; one byte more is refused before anything else.
#[test]
fn ca01_an_assertion_of_exactly_the_size_limit_authenticates() {
    let fx = fixture();
    let now = fx.clock.now().unix_timestamp();
    let limit = oauth21::jose::MAX_TOKEN_BYTES;
    // Padding grows the token in steps of 4/3 of a byte: find a padding that lands on the limit.
    let exact = (limit / 2..limit)
        .map(|n| {
            let mut claims = assertion_claims(JWT_CLIENT, now);
            claims["pad"] = "x".repeat(n).into();
            sign_assertion(jwt_client_key(), &claims)
        })
        .find(|assertion| assertion.len() == limit)
        .expect("a padding that makes the assertion exactly the limit");
    let body = format!("grant_type=client_credentials&scope=read&{}", assertion_params(&exact));
    assert_eq!(fx.token(&body, None).status(), 200);
}
