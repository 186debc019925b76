//! DPoP at the authorization server (RFC 9449): proofs bind access tokens, refresh tokens and
//! codes (DP-04, DP-05, DP-06, DP-12), replays and defects are refused before anything is
//! consumed (DP-01, DP-10), nonces (DP-03), and the store capability DPoP needs.

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::store::Store;
use oauth21::{AccessToken, Client, ClientSecret, GrantType, MemoryStore, RefreshToken, Request, Server, ServerConfig};
use serde_json::json;
use time::Duration;

const TOKEN_URL: &str = "https://as.example/token";

fn error(response: &oauth21::Response) -> String {
    json(response)["error"].as_str().unwrap_or_default().to_owned()
}

fn record(fx: &Fixture, access: &str) -> oauth21::store::AccessTokenRecord {
    block_on(fx.store.access_token(&AccessToken::new(access).hash())).unwrap().expect("a live access token")
}

/// DP-04: a proof at the token endpoint binds the access token: `token_type` DPoP, the key's
/// thumbprint on the record and in introspection (`cnf.jkt`).
#[test]
fn dp04_a_proof_binds_the_access_token_to_its_key() {
    let fx = fixture();
    let key = DpopKey::new();
    let code = fx.code(&app_query(""));
    let response = fx.token_with_proof(&app_redeem_body(&code), None, &key);
    assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    let body = json(&response);
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(record(&fx, access).jkt.as_deref(), Some(key.jkt()));
    // Introspection by a resource server names the key.
    fx.store.insert_client(
        Client::confidential("rs", &ClientSecret::new("a resource server's secret"))
            .grant_types([GrantType::ClientCredentials])
            .may_introspect_any_token()
            .build()
            .unwrap(),
    );
    let auth = basic_auth_header("rs", "a resource server's secret");
    let body = format!("token={access}");
    let answer =
        json(&block_on(fx.server.introspect(&Request::form_post(body.as_bytes()).with_authorization(auth.as_bytes()))));
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"]["jkt"], key.jkt());
    // Without a proof, the same kind of request gets a bearer token.
    let (bearer, _) = fx.app_tokens();
    assert_eq!(record(&fx, &bearer).jkt, None);
}

/// DP-05, DP-12: a public client's bound refresh token refreshes only with a proof of the same
/// key; without one, or with another key, nothing rotates.
#[test]
fn dp12_a_public_clients_bound_refresh_token_needs_a_proof_of_the_same_key() {
    let fx = fixture();
    let key = DpopKey::new();
    let code = fx.code(&app_query(""));
    let tokens = json(&fx.token_with_proof(&app_redeem_body(&code), None, &key));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let stored = block_on(fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap().unwrap();
    assert_eq!(stored.jkt.as_deref(), Some(key.jkt()));
    let body = format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}");
    let bare = fx.token(&body, None);
    assert_eq!((bare.status(), error(&bare)), (400, "invalid_dpop_proof".into()), "no downgrade to bearer");
    let thief = fx.token_with_proof(&body, None, &DpopKey::new());
    assert_eq!((thief.status(), error(&thief)), (400, "invalid_dpop_proof".into()), "another key");
    // The refused attempts rotated nothing: the right key still refreshes, and stays bound.
    let renewed = fx.token_with_proof(&body, None, &key);
    assert_eq!(renewed.status(), 200);
    assert_eq!(json(&renewed)["token_type"], "DPoP");
    let next = json(&renewed)["refresh_token"].as_str().unwrap().to_owned();
    let stored = block_on(fx.store.refresh_token(&RefreshToken::new(&next).hash())).unwrap().unwrap();
    assert_eq!(stored.jkt.as_deref(), Some(key.jkt()));
}

/// DP-12: a confidential client may move its grant to a new key, never back to bearer.
#[test]
fn dp12_a_confidential_client_may_change_keys_but_never_return_to_bearer() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("web", &ClientSecret::new(WEB_SECRET))
            .allow_short_secrets()
            .redirect_uri("https://web.example/cb")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .build()
            .unwrap(),
    );
    let auth = basic_auth_header("web", WEB_SECRET);
    let code = fx.code(&web_query(""));
    let redeem = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_verifier={VERIFIER}"
    );
    let (first, second) = (DpopKey::new(), DpopKey::new());
    let tokens = json(&fx.token_with_proof(&redeem, Some(&auth), &first));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    let bare = fx.token(&body, Some(&auth));
    assert_eq!(error(&bare), "invalid_dpop_proof");
    let moved = fx.token_with_proof(&body, Some(&auth), &second);
    assert_eq!(moved.status(), 200);
    let access = json(&moved)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(record(&fx, &access).jkt.as_deref(), Some(second.jkt()));
}

/// DP-06: a client registered with dpop_bound_access_tokens gets no token without a proof, for
/// any grant; with one, its tokens are bound.
#[test]
fn dp06_a_dpop_bound_client_needs_a_proof_for_every_grant() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("bound", &ClientSecret::new("a secret that is long enough"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .dpop_bound_access_tokens()
            .build()
            .unwrap(),
    );
    let auth = basic_auth_header("bound", "a secret that is long enough");
    let refused = fx.token("grant_type=client_credentials", Some(&auth));
    assert_eq!((refused.status(), error(&refused)), (400, "invalid_dpop_proof".into()));
    let key = DpopKey::new();
    let bound = fx.token_with_proof("grant_type=client_credentials", Some(&auth), &key);
    assert_eq!(json(&bound)["token_type"], "DPoP");
}

/// DP-06: `dpop_jkt` in the authorization request binds the code to that key.
#[test]
fn dp06_dpop_jkt_binds_the_code_to_its_key() {
    let fx = fixture();
    let key = DpopKey::new();
    let code = fx.code(&app_query(&format!("&dpop_jkt={}", key.jkt())));
    let other = fx.token_with_proof(&app_redeem_body(&code), None, &DpopKey::new());
    assert_eq!((other.status(), error(&other)), (400, "invalid_dpop_proof".into()));
    // Bound codes are consumed like any code whose binding failed (like a wrong PKCE verifier).
    let code = fx.code(&app_query(&format!("&dpop_jkt={}", key.jkt())));
    let bare = fx.token(&app_redeem_body(&code), None);
    assert_eq!(error(&bare), "invalid_dpop_proof");
    let code = fx.code(&app_query(&format!("&dpop_jkt={}", key.jkt())));
    let ok = fx.token_with_proof(&app_redeem_body(&code), None, &key);
    assert_eq!(ok.status(), 200);
    // A malformed dpop_jkt is an invalid_request redirect.
    let (error, _) = fx.authorize_error(&app_query("&dpop_jkt=not-a-thumbprint"));
    assert_eq!(error.code().as_str(), "invalid_request");
    // 43 base64url characters, `-` and `_` included; any other character refuses it.
    let thumbprint_like = format!("{}-_", "A".repeat(41));
    assert!(!fx.code(&app_query(&format!("&dpop_jkt={thumbprint_like}"))).is_empty());
    for bad in ['.', '+', '='] {
        let (error, _) = fx.authorize_error(&app_query(&format!("&dpop_jkt={}{}", "A".repeat(42), bad)));
        assert_eq!(error.code().as_str(), "invalid_request", "{bad}");
    }
}

/// DP-01, DP-10: a defective or replayed proof is `invalid_dpop_proof`, refused before the code
/// is taken, so the code still redeems with a good proof.
#[test]
fn dp10_a_replayed_or_defective_proof_is_refused_before_anything_is_consumed() {
    let fx = fixture();
    let key = DpopKey::new();
    let now = fx.unix_now();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code);
    for bad in [
        key.proof("GET", TOKEN_URL, now, json!({})),
        key.proof("POST", "https://as.example/other", now, json!({})),
        key.proof("POST", "https://evil.example/token", now, json!({})),
        key.proof("POST", TOKEN_URL, now - 3600, json!({})),
        "not-a-proof".to_owned(),
    ] {
        let r = fx.token_with_dpop_header(&body, None, &bad);
        assert_eq!((r.status(), error(&r)), (400, "invalid_dpop_proof".into()), "{bad}");
    }
    // Two DPoP headers.
    let (one, two) = (key.proof("POST", TOKEN_URL, now, json!({})), key.proof("POST", TOKEN_URL, now, json!({})));
    let twice = Request::form_post(body.as_bytes()).with_dpop(one.as_bytes()).with_dpop(two.as_bytes());
    assert_eq!(error(&block_on(fx.server.token(&twice))), "invalid_dpop_proof");
    let proof = key.proof("POST", TOKEN_URL, now, json!({}));
    assert_eq!(fx.token_with_dpop_header(&body, None, &proof).status(), 200, "the code survived every refusal");
    // The same proof again, even for another request: a replay.
    let (_, refresh) = fx.app_tokens();
    let again = fx.token_with_dpop_header(
        &format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}"),
        None,
        &proof,
    );
    assert_eq!((again.status(), error(&again)), (400, "invalid_dpop_proof".into()));
}

/// DP-03: with nonces on, a proof without a current nonce gets `use_dpop_nonce` and the nonce
/// in `DPoP-Nonce`; with it, the request succeeds and the answer carries the next nonce.
#[test]
fn dp03_nonces_are_required_when_on_and_handed_out_with_every_answer() {
    let config = ServerConfig::builder(ISSUER).dpop_nonces(&[9u8; 32], Duration::minutes(5)).build().unwrap();
    let fx = fixture_with(config);
    let key = DpopKey::new();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code);
    let first = fx.token_with_proof(&body, None, &key);
    assert_eq!((first.status(), error(&first)), (400, "use_dpop_nonce".into()));
    let nonce = first.header("DPoP-Nonce").expect("a nonce to use").to_owned();
    let proof = key.proof("POST", TOKEN_URL, fx.unix_now(), json!({ "nonce": nonce }));
    let ok = fx.token_with_dpop_header(&body, None, &proof);
    assert_eq!(ok.status(), 200);
    assert!(ok.header("DPoP-Nonce").is_some());
    // A made-up nonce is refused the same way.
    let (_, refresh) = fx.app_tokens();
    let forged = key.proof("POST", TOKEN_URL, fx.unix_now(), json!({ "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }));
    let r = fx.token_with_dpop_header(
        &format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}"),
        None,
        &forged,
    );
    assert_eq!(error(&r), "use_dpop_nonce");
}

/// A store without single-use claims cannot stop proof replays: a server that needs them
/// refuses to build on it, and without DPoP it builds.
#[test]
fn dp10_a_server_with_dpop_refuses_to_build_on_a_store_without_single_use_claims() {
    use oauth21::store::{Capabilities, StoreError};
    #[derive(Debug)]
    struct NoClaims(MemoryStore);
    impl Store for NoClaims {
        async fn client(&self, id: &oauth21::ClientId) -> Result<Option<Client>, StoreError> {
            self.0.client(id).await
        }
        async fn insert_code(&self, code: oauth21::store::CodeRecord) -> Result<(), StoreError> {
            self.0.insert_code(code).await
        }
        async fn take_code(&self, hash: &oauth21::TokenHash) -> Result<oauth21::store::CodeTake, StoreError> {
            self.0.take_code(hash).await
        }
        async fn insert_grant(
            &self,
            grant: oauth21::store::NewGrant,
        ) -> Result<oauth21::store::InsertOutcome, StoreError> {
            self.0.insert_grant(grant).await
        }
        async fn rotate_refresh(
            &self,
            r: oauth21::store::Rotation,
        ) -> Result<oauth21::store::RotateOutcome, StoreError> {
            self.0.rotate_refresh(r).await
        }
        async fn revoke_grant(
            &self,
            id: &oauth21::GrantId,
            at: time::OffsetDateTime,
            until: time::OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.revoke_grant(id, at, until).await
        }
        async fn revoke_access_token(&self, hash: &oauth21::TokenHash) -> Result<(), StoreError> {
            self.0.revoke_access_token(hash).await
        }
        async fn revoke_subject(
            &self,
            s: &oauth21::Subject,
            at: time::OffsetDateTime,
            until: time::OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.revoke_subject(s, at, until).await
        }
        async fn access_token(
            &self,
            hash: &oauth21::TokenHash,
        ) -> Result<Option<oauth21::store::AccessTokenRecord>, StoreError> {
            self.0.access_token(hash).await
        }
        async fn refresh_token(
            &self,
            hash: &oauth21::TokenHash,
        ) -> Result<Option<oauth21::store::RefreshTokenRecord>, StoreError> {
            self.0.refresh_token(hash).await
        }
    }
    // Pushed requests (on by default) need a store capability of their own; off here, so the
    // refusal is DPoP's alone.
    let config = ServerConfig::builder(ISSUER).without_pushed_requests().build().unwrap();
    let refused = Server::try_new(config, NoClaims(MemoryStore::new())).unwrap_err();
    assert_eq!(refused.0, Capabilities::SINGLE_USE_CLAIMS);
    assert!(refused.to_string().contains("single-use claims"), "{refused}");
    let without_dpop = ServerConfig::builder(ISSUER).without_dpop().without_pushed_requests().build().unwrap();
    assert!(Server::try_new(without_dpop, NoClaims(MemoryStore::new())).is_ok());
    assert!(Server::try_new(ServerConfig::builder(ISSUER).build().unwrap(), MemoryStore::new()).is_ok());
    // Built with `new` anyway: a proof then fails closed (500), never issues an unprotected token.
    let store = NoClaims(MemoryStore::new());
    store.0.insert_client(
        Client::confidential("svc", &ClientSecret::new("a secret that is long enough"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    let server = Server::new(ServerConfig::builder(ISSUER).build().unwrap(), store);
    let proof = DpopKey::new().proof("POST", TOKEN_URL, time::OffsetDateTime::now_utc().unix_timestamp(), json!({}));
    let auth = basic_auth_header("svc", "a secret that is long enough");
    let request = Request::form_post(b"grant_type=client_credentials")
        .with_authorization(auth.as_bytes())
        .with_dpop(proof.as_bytes());
    assert_eq!(block_on(server.token(&request)).status(), 500);
}

/// Without DPoP configured, a proof is ignored and tokens are bearer tokens; the metadata lists
/// the proof algorithms only when DPoP is on.
#[test]
fn dp04_metadata_lists_the_proof_algorithms_and_dpop_can_be_turned_off() {
    let fx = fixture();
    let metadata = json(&fx.server.metadata());
    assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["EdDSA", "ES256", "RS256"]));
    let off = fixture_with(ServerConfig::builder(ISSUER).without_dpop().build().unwrap());
    assert!(json(&off.server.metadata()).get("dpop_signing_alg_values_supported").is_none());
    let code = off.code(&app_query(""));
    let r = off.token_with_proof(&app_redeem_body(&code), None, &DpopKey::new());
    assert_eq!(json(&r)["token_type"], "Bearer");
}

/// DP-04: a bound JWT access token carries `cnf.jkt`; an unbound one has no `cnf`.
#[test]
fn dp04_a_bound_jwt_access_token_carries_cnf_jkt() {
    use base64::Engine as _;
    use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
    let base = fixture();
    let config = ServerConfig::builder(ISSUER)
        .access_token_format(oauth21::AccessTokenFormat::Jwt)
        .access_token_audience("https://api.example")
        .build()
        .unwrap();
    let keys = SharedKeySet::new(KeySet::with_active(SigningKey::generate(Algorithm::ES256, "k1").unwrap()));
    let server = Server::with_providers(config, base.store.clone(), base.clock.clone(), oauth21::SystemRandom::new())
        .with_jwt_keys(keys);
    let fx = Fixture { server, store: base.store, clock: base.clock, events: base.events };
    let claims = |response: &oauth21::Response| -> serde_json::Value {
        let token = json(response)["access_token"].as_str().unwrap().to_owned();
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let key = DpopKey::new();
    let code = fx.code(&app_query(""));
    let bound = fx.token_with_proof(&app_redeem_body(&code), None, &key);
    assert_eq!(json(&bound)["token_type"], "DPoP");
    assert_eq!(claims(&bound)["cnf"]["jkt"], key.jkt());
    let code = fx.code(&app_query(""));
    let bearer = fx.token(&app_redeem_body(&code), None);
    assert!(claims(&bearer).get("cnf").is_none());
}

/// DP-05: a public client's refresh token from a DPoP request is bound to the proof's key, and
/// stays bound through every rotation.
#[test]
fn dp05_a_public_clients_refresh_token_is_bound_to_the_proof_key() {
    let fx = fixture();
    let key = DpopKey::new();
    let code = fx.code(&app_query(""));
    let mut refresh =
        json(&fx.token_with_proof(&app_redeem_body(&code), None, &key))["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let stored = block_on(fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap().unwrap();
        assert_eq!(stored.jkt.as_deref(), Some(key.jkt()));
        let body = format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}");
        refresh = json(&fx.token_with_proof(&body, None, &key))["refresh_token"].as_str().unwrap().to_owned();
    }
}
