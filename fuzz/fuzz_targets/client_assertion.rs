//! `private_key_jwt` client authentication at the token endpoint, on arbitrary and mutated
//! client assertions.
//!
//! A fresh server per input holds one client, `keyed`, registered with an Ed25519 and a P-256
//! key. The first input byte picks a mode:
//! - even: the rest of the input is the `client_assertion` value;
//! - odd: a genuine assertion (one per key) with the input's edits applied (byte overwrites, a
//!   cut, an insert);
//! - 0xFE: the rest is a claims payload, signed here by the Ed25519 key, so the claim checks
//!   see every shape and value.
//!
//! Invariants: nothing panics; every answer is a token (200) or `invalid_client` /
//! `invalid_request` (400); in the first two modes only a genuine assertion's exact text
//! authenticates (only the key holders can sign); in mode 0xFE an accepted payload has
//! `iss` = `sub` = `keyed`, the issuer as a single-string `aud`, an `exp` in the future at
//! most five minutes after `iat` (or now), and a `jti`; and the same assertion never
//! authenticates twice.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use oauth21::jose::{Algorithm, KeySet, SigningKey};
use oauth21::{Client, ClientKeys, GrantType, ManualClock, MemoryStore, Request, Server, ServerConfig, SystemRandom};
use oauth21_fuzz::{block_on as ready, mutate};

const ISSUER: &str = "https://as.example";
const NOW: i64 = 1_700_000_000;

struct Fixture {
    signers: Vec<KeySet>,
    keys: ClientKeys,
    genuine: Vec<String>,
}

fn sign(signer: &KeySet, claims: &[u8]) -> String {
    ready(oauth21::jose::sign_with(signer, "JWT", claims)).expect("the fixture key signs")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = [
            SigningKey::generate(Algorithm::EdDSA, "ed").unwrap(),
            SigningKey::generate(Algorithm::ES256, "ec").unwrap(),
        ];
        let jwks = serde_json::json!({ "keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>() });
        let keys_doc = ClientKeys::from_jwks(jwks.to_string().as_bytes()).unwrap();
        let claims =
            format!(r#"{{"iss":"keyed","sub":"keyed","aud":"{ISSUER}","iat":{NOW},"exp":{},"jti":"j-1"}}"#, NOW + 60);
        let signers: Vec<KeySet> = keys.into_iter().map(KeySet::with_active).collect();
        let genuine = signers.iter().map(|s| sign(s, claims.as_bytes())).collect();
        Fixture { signers, keys: keys_doc, genuine }
    })
}

/// Whether a payload the server accepted satisfies every claim rule.
fn claims_are_valid(payload: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return false;
    };
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    let int = |name: &str| claims.get(name).and_then(|v| v.as_i64());
    let Some(exp) = int("exp") else { return false };
    let start = int("iat").unwrap_or(NOW);
    text("iss") == Some("keyed")
        && text("sub") == Some("keyed")
        && text("aud") == Some(ISSUER)
        && exp > NOW
        && exp - start <= 300
        && int("iat").is_none_or(|iat| iat - NOW <= 10)
        && int("nbf").is_none_or(|nbf| nbf - NOW <= 10)
        && text("jti").is_some_and(|j| !j.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    let assertion: Vec<u8> = match mode {
        0xFE => sign(&f.signers[0], rest).into_bytes(),
        m if m % 2 == 0 => rest.to_vec(),
        m => mutate(&f.genuine[usize::from(m / 2) % f.genuine.len()], rest),
    };
    let store = Arc::new(MemoryStore::new());
    let client = Client::private_key_jwt("keyed", f.keys.clone())
        .grant_types([GrantType::ClientCredentials])
        .scope("read")
        .default_scope("read")
        .build()
        .unwrap();
    store.insert_client(client);
    let server = Server::with_providers(
        ServerConfig::builder(ISSUER).build().unwrap(),
        store,
        Arc::new(ManualClock::at_unix(NOW)),
        SystemRandom::new(),
    );
    let encoded: String = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
    ])
    .unwrap();
    let mut body = encoded.into_bytes();
    body.extend_from_slice(b"&client_assertion=");
    // Percent-encoded, so the server decodes exactly the bytes made here into one parameter.
    for &byte in &assertion {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            body.push(byte);
        } else {
            body.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
    }
    let answer = |body: &[u8]| ready(server.token(&Request::form_post(body)));
    let first = answer(&body);
    if first.status() != 200 {
        assert_eq!(first.status(), 400, "{:?}", String::from_utf8_lossy(first.body()));
        let json: serde_json::Value = serde_json::from_slice(first.body()).expect("an error answer is JSON");
        let code = json["error"].as_str().expect("an error code");
        assert!(["invalid_client", "invalid_request"].contains(&code), "{code}");
        return;
    }
    let text = String::from_utf8(assertion).expect("an accepted assertion is UTF-8");
    if mode == 0xFE {
        assert!(claims_are_valid(rest), "accepted claims: {:?}", String::from_utf8_lossy(rest));
    } else {
        assert!(f.genuine.contains(&text), "an assertion no fixture key signed authenticated: {text:?}");
    }
    let payload = text.split('.').nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
    assert!(payload.is_some_and(|p| claims_are_valid(&p)));
    assert_ne!(answer(&body).status(), 200, "the same assertion authenticated twice");
});
