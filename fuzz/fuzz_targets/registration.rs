//! Dynamic client registration (RFC 7591) on arbitrary JSON bodies.
//!
//! Input: the request body, as is, posted as `application/json` to a server whose policy
//! accepts every request that passes the checks.
//!
//! Asserts: no panic; the answer is `no-store` JSON, either `201` or `400` with
//! `invalid_client_metadata` / `invalid_redirect_uri`. A registered client is in the store,
//! reads back as registered (its persisted form round-trips through every check), has a secret
//! exactly when it authenticates with one (and the store keeps only its digest), and its
//! echoed metadata, registered again, reads as the same metadata: nothing is lost or widened
//! between what was accepted and what was stored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::registration::{ClientMetadata, RegistrationDecision, RegistrationRequest};
use oauth21::{ClientId, ClientSecret, Request, ServerConfig, Store};
use oauth21_fuzz::{ISSUER, block_on, fixture};

fn accept(_: &RegistrationRequest<'_>) -> RegistrationDecision {
    RegistrationDecision::Accept
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture(ServerConfig::builder(ISSUER).build().unwrap());
    let server = fx.server.with_registration(accept).expect("MemoryStore keeps registrations");
    let request = Request::post(data).with_content_type(b"application/json");
    let response = block_on(server.register(&request));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let json: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON answer");
    if response.status() != 201 {
        assert_eq!(response.status(), 400, "{json}");
        let error = json["error"].as_str().expect("an error code");
        assert!(["invalid_client_metadata", "invalid_redirect_uri"].contains(&error), "{error}");
        return;
    }
    let requested = ClientMetadata::from_json(data).expect("a registered body reads as metadata");
    let id = ClientId::new(json["client_id"].as_str().expect("a client_id")).expect("a valid client id");
    let stored = block_on(fx.store.client(&id)).expect("the store answers").expect("the client is stored");
    let persisted = serde_json::to_string(&stored).expect("a client serializes");
    let reread: oauth21::Client = serde_json::from_str(&persisted).expect("the persisted client reads back");
    assert_eq!(reread, stored);
    let secret_method = matches!(
        requested.token_endpoint_auth_method,
        oauth21::AuthMethod::ClientSecretBasic | oauth21::AuthMethod::ClientSecretPost
    );
    match json.get("client_secret").and_then(|s| s.as_str()) {
        Some(secret) => {
            assert!(secret_method, "a secret for a client without a secret method");
            assert!(!persisted.contains(secret), "the secret itself was stored");
            assert!(stored.verify_secret(&ClientSecret::new(secret)));
        }
        None => assert!(!secret_method, "no secret for a secret method"),
    }
    assert_eq!(stored.is_public(), requested.is_public());
    let redirects: Vec<&str> = stored.redirect_uris().iter().map(|u| u.as_str()).collect();
    assert_eq!(json["redirect_uris"], serde_json::json!(redirects));
    let echoed = ClientMetadata::from_json(response.body()).expect("the answer reads as metadata");
    assert_eq!(echoed, requested, "the echo differs from what was registered");
});
