//! DPoP at the resource server (RFC 9449 §7; DP-07, DP-11, DP-03, DP-10): `Authorization: DPoP`
//! with a proof for this request that names the token and is made with the token's key; a bound
//! token is worthless as a bearer token, a bearer token is not a DPoP token, and a proof works
//! once. Bad-input class 14: the key compared with `cnf.jkt`, `ath` checked, replay keyed on the
//! normalised target.

mod common;

use std::sync::Arc;

use common::*;
use oauth21::dpop::{self, NonceKey};
use oauth21::store::{NewGrant, Store};
use oauth21::{BearerChecker, BearerError, ManualClock, MemoryStore, Request, Scope};
use serde_json::json;
use time::Duration;

const API: &str = "https://api.example";

type Checker = BearerChecker<Arc<MemoryStore>, Arc<ManualClock>>;

fn checker(fx: &Fixture) -> Checker {
    BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap().accept_dpop(API).unwrap()
}

/// A DPoP-bound access token for `key`, from the code flow.
fn bound_token(fx: &Fixture, key: &DpopKey) -> String {
    let code = fx.code(&app_query(""));
    let response = fx.token_with_proof(&app_redeem_body(&code), None, key);
    assert_eq!(json(&response)["token_type"], "DPoP");
    json(&response)["access_token"].as_str().unwrap().to_owned()
}

/// A GET of `path` with `Authorization: <scheme> <token>` and, if given, a `DPoP` header.
fn get<'a>(path: &'a str, authorization: &'a str, proof: Option<&'a str>) -> Request<'a> {
    let request = Request::method_named("GET").with_path(path).with_authorization(authorization.as_bytes());
    match proof {
        Some(proof) => request.with_dpop(proof.as_bytes()),
        None => request,
    }
}

fn check(checker: &Checker, request: &Request<'_>) -> Result<oauth21::store::AccessTokenRecord, BearerError> {
    block_on(checker.check(request, &Scope::from_static("read")))
}

#[test]
fn dp07_a_bound_token_with_a_proof_of_its_key_is_accepted() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let proof =
        key.proof("GET", &format!("{API}/me"), fx.unix_now(), json!({ "ath": dpop::access_token_hash(&token) }));
    let auth = format!("DPoP {token}");
    let record = check(&checker(&fx), &get("/me", &auth, Some(&proof))).unwrap();
    assert_eq!(record.jkt.as_deref(), Some(key.jkt()));
    assert_eq!(record.subject.as_str(), "alice");
}

/// DP-07: a bound token presented as Bearer is refused (401 with a Bearer challenge), and a
/// bearer token presented as DPoP is refused (401 with a DPoP challenge).
#[test]
fn dp07_bound_tokens_are_no_bearer_tokens_and_bearer_tokens_no_dpop_tokens() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let checker = checker(&fx);
    let as_bearer = check(&checker, &get("/me", &format!("Bearer {token}"), None)).unwrap_err();
    assert!(matches!(as_bearer, BearerError::InvalidToken(_)), "{as_bearer:?}");
    // Whatever scope is asked for: a bound token says nothing as a bearer token, not even which
    // scopes it lacks (found by the whole_flow fuzz target).
    let wider = block_on(checker.check(&get("/me", &format!("Bearer {token}"), None), &Scope::from_static("admin")));
    assert!(matches!(wider, Err(BearerError::InvalidToken(_))), "{wider:?}");
    let headers_only = [format!("Bearer {token}")];
    let wider =
        block_on(checker.check_authorization(headers_only.iter().map(|h| h.as_bytes()), &Scope::from_static("admin")));
    assert!(matches!(wider, Err(BearerError::InvalidToken(_))), "{wider:?}");
    assert!(checker.response(&as_bearer).header("WWW-Authenticate").unwrap().starts_with("Bearer "));
    let (bearer, _) = fx.app_tokens();
    let proof =
        key.proof("GET", &format!("{API}/me"), fx.unix_now(), json!({ "ath": dpop::access_token_hash(&bearer) }));
    let as_dpop = check(&checker, &get("/me", &format!("DPoP {bearer}"), Some(&proof))).unwrap_err();
    assert_eq!(as_dpop, BearerError::InvalidDpopToken("the access token is not DPoP-bound"));
    let challenge = checker.response(&as_dpop).header("WWW-Authenticate").unwrap().to_owned();
    assert!(challenge.starts_with(r#"DPoP algs="EdDSA ES256 RS256", error="invalid_token""#), "{challenge}");
    // A checker that does not accept DPoP treats the DPoP scheme as no bearer credential.
    let plain = BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap();
    assert_eq!(check(&plain, &get("/me", &format!("DPoP {token}"), Some(&proof))), Err(BearerError::NoCredentials));
}

/// DP-11, class 14: the proof key must be the token's (`cnf.jkt`), and `ath` must name this token.
#[test]
fn dp11_the_proof_key_must_be_the_tokens_and_ath_must_name_the_token() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let checker = checker(&fx);
    let auth = format!("DPoP {token}");
    let url = format!("{API}/me");
    let now = fx.unix_now();
    let thief = DpopKey::new();
    let stolen = thief.proof("GET", &url, now, json!({ "ath": dpop::access_token_hash(&token) }));
    assert_eq!(
        check(&checker, &get("/me", &auth, Some(&stolen))),
        Err(BearerError::InvalidDpopToken("the access token is bound to another key"))
    );
    for claims in [json!({}), json!({ "ath": dpop::access_token_hash("another token") }), json!({ "ath": 7 })] {
        let proof = key.proof("GET", &url, now, claims.clone());
        let error = check(&checker, &get("/me", &auth, Some(&proof))).unwrap_err();
        assert!(matches!(error, BearerError::InvalidDpopProof(_)), "{claims}: {error:?}");
    }
}

/// Each refused proof's `error_description` says which rule it broke, in fixed words that
/// never echo the proof (DP-02, DP-09, DP-10, DP-11).
#[test]
fn dp09_each_refused_proof_says_why_in_fixed_words() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let checker = checker(&fx);
    let auth = format!("DPoP {token}");
    let me = format!("{API}/me");
    let now = fx.unix_now();
    let ath = dpop::access_token_hash(&token);
    let cases = [
        (key.proof("POST", &me, now, json!({ "ath": ath })), "the DPoP proof is for another method"),
        (key.proof("GET", &format!("{API}/other"), now, json!({ "ath": ath })), "the DPoP proof is for another URL"),
        (key.proof("GET", &me, now - 120, json!({ "ath": ath })), "the DPoP proof is too old or from the future"),
        (
            key.proof("GET", &me, now, json!({ "ath": dpop::access_token_hash("another token") })),
            "the DPoP proof does not name this access token",
        ),
        (
            key.proof("GET", &me, now, json!({ "ath": ath, "jti": 7 })),
            "the DPoP proof lacks a claim or has one of the wrong type",
        ),
        ("e30.e30.e30".to_owned(), "the DPoP proof is not a valid dpop+jwt signed by its jwk"),
    ];
    for (proof, why) in cases {
        assert_eq!(check(&checker, &get("/me", &auth, Some(&proof))), Err(BearerError::InvalidDpopProof(why)));
    }
    let proof = key.proof("GET", &me, now, json!({ "ath": ath }));
    assert!(check(&checker, &get("/me", &auth, Some(&proof))).is_ok());
    assert_eq!(
        check(&checker, &get("/me", &auth, Some(&proof))),
        Err(BearerError::InvalidDpopProof("the DPoP proof was used before"))
    );
}

/// DP-02, DP-09 at the resource server: the proof is for this method and this URL (the public
/// URL from configuration plus the request path), recent, and present exactly once.
#[test]
fn dp09_the_proof_must_be_for_this_request_at_the_public_url() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let checker = checker(&fx);
    let auth = format!("DPoP {token}");
    let ath = json!({ "ath": dpop::access_token_hash(&token) });
    let now = fx.unix_now();
    for (htm, htu, iat) in [
        ("POST", format!("{API}/me"), now),
        ("GET", format!("{API}/other"), now),
        ("GET", format!("{API}/me/"), now),
        ("GET", "http://internal:8080/me".to_owned(), now),
        ("GET", format!("{API}/me"), now - 120),
    ] {
        let proof = key.proof(htm, &htu, iat, ath.clone());
        let error = check(&checker, &get("/me", &auth, Some(&proof))).unwrap_err();
        assert!(matches!(error, BearerError::InvalidDpopProof(_)), "{htm} {htu} {iat}: {error:?}");
    }
    assert!(matches!(check(&checker, &get("/me", &auth, None)), Err(BearerError::InvalidDpopProof(_))));
    let (one, two) = (
        key.proof("GET", &format!("{API}/me"), now, ath.clone()),
        key.proof("GET", &format!("{API}/me"), now, ath.clone()),
    );
    let twice = get("/me", &auth, Some(&one)).with_dpop(two.as_bytes());
    assert!(matches!(check(&checker, &twice), Err(BearerError::InvalidDpopProof(_))));
    // The host must pass the path: refusing is its bug (500), never the client's.
    let proof = key.proof("GET", &format!("{API}/me"), now, ath.clone());
    let no_path = Request::method_named("GET").with_authorization(auth.as_bytes()).with_dpop(proof.as_bytes());
    let error = check(&checker, &no_path).unwrap_err();
    assert!(matches!(error, BearerError::Misconfigured(_)));
    assert_eq!(checker.response(&error).status(), 500);
    // So must it pass a path that is a path, and the method: each missing on its own.
    let relative = get("me", &auth, Some(&proof));
    assert!(matches!(check(&checker, &relative), Err(BearerError::Misconfigured(_))), "a relative path");
    let no_method =
        Request::method_named("").with_path("/me").with_authorization(auth.as_bytes()).with_dpop(proof.as_bytes());
    assert!(matches!(check(&checker, &no_method), Err(BearerError::Misconfigured(_))), "no method");
    // A public URL with a query cannot be configured.
    assert!(
        BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api")
            .unwrap()
            .accept_dpop("https://api.example/?x")
            .is_err()
    );
}

/// DP-10 at the resource server: a proof works once, across every request that shares the store.
#[test]
fn dp10_a_proof_is_accepted_once() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let (first, second) = (checker(&fx), checker(&fx));
    let auth = format!("DPoP {token}");
    let proof =
        key.proof("GET", &format!("{API}/me"), fx.unix_now(), json!({ "ath": dpop::access_token_hash(&token) }));
    assert!(check(&first, &get("/me", &auth, Some(&proof))).is_ok());
    let replay = check(&second, &get("/me", &auth, Some(&proof))).unwrap_err();
    assert_eq!(replay, BearerError::InvalidDpopProof("the DPoP proof was used before"));
}

/// DP-03 at the resource server: nonces required when on, handed out with the refusal.
#[test]
fn dp03_the_resource_server_can_require_nonces() {
    let fx = fixture();
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let nonces = NonceKey::new(&[3u8; 32], Duration::minutes(5));
    let checker = checker(&fx).dpop_nonces(nonces.clone());
    let auth = format!("DPoP {token}");
    let url = format!("{API}/me");
    let ath = dpop::access_token_hash(&token);
    let bare = key.proof("GET", &url, fx.unix_now(), json!({ "ath": ath }));
    let error = check(&checker, &get("/me", &auth, Some(&bare))).unwrap_err();
    assert_eq!(error, BearerError::UseDpopNonce);
    let response = checker.response(&error);
    assert_eq!(response.status(), 401);
    assert!(response.header("WWW-Authenticate").unwrap().contains(r#"error="use_dpop_nonce""#));
    let nonce = response.header("DPoP-Nonce").unwrap().to_owned();
    let proof = key.proof("GET", &url, fx.unix_now(), json!({ "ath": ath, "nonce": nonce }));
    assert!(check(&checker, &get("/me", &auth, Some(&proof))).is_ok());
}

/// RFC 9449 figure 13 at its own `iat`: the example proof for the example token, bound to the
/// example key, is accepted at https://resource.example.org/protectedresource.
#[test]
fn dp07_the_rfc9449_resource_request_example_is_accepted() {
    const PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
    const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::at_unix(1_562_262_618));
    // The token's record, in the store's persisted form.
    let hash = oauth21::TokenHash::of(TOKEN);
    let grant: NewGrant = serde_json::from_value(json!({
        "grant": { "grant_id": "g", "client_id": "c", "subject": "alice", "scope": "read",
                   "authorized_at": 1_562_262_600, "expires_at": 1_562_266_200 },
        "access": { "hash": hash.to_string(), "grant_id": "g", "client_id": "c", "subject": "alice", "scope": "read",
                    "issued_at": 1_562_262_600, "expires_at": 1_562_266_200,
                    "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" },
        "refresh": null
    }))
    .unwrap();
    block_on(store.insert_grant(grant)).unwrap();
    let checker = BearerChecker::new(store, clock, "api").unwrap().accept_dpop("https://resource.example.org").unwrap();
    let auth = format!("DPoP {TOKEN}");
    let record = check(&checker, &get("/protectedresource", &auth, Some(PROOF))).unwrap();
    assert_eq!(record.subject.as_str(), "alice");
}

/// DP-07, DP-11 for self-contained JWTs (`JwtVerifier`, no shared store): a bound JWT (with
/// `cnf.jkt`) is refused as a bearer token and accepted with a proof of its key, whose replay
/// key the caller then claims.
#[test]
fn dp07_a_resource_server_without_the_store_checks_bound_jwts_by_cnf() {
    use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
    use oauth21::jwt::JwtVerifier;
    let base = fixture();
    let config = oauth21::ServerConfig::builder(ISSUER)
        .access_token_format(oauth21::AccessTokenFormat::Jwt)
        .access_token_audience(API)
        .build()
        .unwrap();
    let keys = SharedKeySet::new(KeySet::with_active(SigningKey::generate(Algorithm::EdDSA, "k1").unwrap()));
    let server =
        oauth21::Server::with_providers(config, base.store.clone(), base.clock.clone(), oauth21::SystemRandom::new())
            .with_jwt_keys(keys.clone());
    let fx = Fixture { server, store: base.store, clock: base.clock, events: base.events };
    let key = DpopKey::new();
    let token = bound_token(&fx, &key);
    let verifier = JwtVerifier::new(keys, ISSUER, API);
    let now = oauth21::Clock::now(&*fx.clock);
    let read = Scope::from_static("read");
    let bearer = format!("Bearer {token}");
    assert!(matches!(verifier.check(&get("/me", &bearer, None), &read, now), Err(BearerError::InvalidToken(_))));
    let auth = format!("DPoP {token}");
    let proof =
        key.proof("GET", &format!("{API}/me"), fx.unix_now(), json!({ "ath": dpop::access_token_hash(&token) }));
    let (claims, proof) = verifier.check_dpop(&get("/me", &auth, Some(&proof)), API, &read, now).unwrap();
    assert_eq!(claims.jkt.as_deref(), Some(key.jkt()));
    assert_eq!(proof.jkt, key.jkt());
    let thief = DpopKey::new();
    let stolen =
        thief.proof("GET", &format!("{API}/me"), fx.unix_now(), json!({ "ath": dpop::access_token_hash(&token) }));
    assert_eq!(
        verifier.check_dpop(&get("/me", &auth, Some(&stolen)), API, &read, now).map(|_| ()),
        Err(BearerError::InvalidDpopToken("the access token is bound to another key"))
    );
}
