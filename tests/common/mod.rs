//! Shared fixture for the scenario tests: a server over `MemoryStore` with a manual clock and
//! real randomness, three registered clients, and helpers that walk the flow.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use oauth21::client::ClientKeys;
use oauth21::hooks::{Hooks, SecurityEvent};
use oauth21::jose::{Algorithm, KeySet, SigningKey};
use oauth21::{
    Approval, AuthorizeOutcome, Client, ClientSecret, Clock, ConsentRequest, GrantType, ManualClock, MemoryStore,
    Request, Response, Server, ServerConfig, Subject, SystemRandom,
};

/// RFC 7636 App. B verifier and challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const ISSUER: &str = "https://as.example";
pub const WEB_SECRET: &str = "web-secret";

pub type TestServer = Server<Arc<MemoryStore>>;

/// Collects the server's security events.
#[derive(Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<SecurityEvent>>>);

impl Hooks for EventLog {
    fn report(&self, event: &SecurityEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl EventLog {
    /// The events so far, emptying the log.
    pub fn take(&self) -> Vec<SecurityEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Polls a future to completion on this thread. The store's futures are always ready.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

pub struct Fixture {
    pub server: TestServer,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
    pub events: EventLog,
}

/// Clients:
/// - `app`: public, redirect `http://127.0.0.1/cb` (loopback, any port), grants code + refresh,
///   scope `read write`, default scope `read`.
/// - `web`: confidential (secret `web-secret`, basic and post), two redirect URIs
///   `https://web.example/cb` and `https://web.example/cb?tenant=1`, grant code only,
///   scope `read write`, no default scope.
/// - `svc`: confidential, client_credentials only (no redirect URIs).
/// - `jwt-svc`: confidential by `private_key_jwt` ([`jwt_client_key`]), client_credentials
///   only, scope `read`.
pub fn fixture() -> Fixture {
    fixture_on(MemoryStore::new())
}

/// [`fixture`] on `store`, which must be empty (one sized up front, say).
pub fn fixture_on(store: MemoryStore) -> Fixture {
    let store = Arc::new(store);
    store.insert_client(
        Client::public("app")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("web", &ClientSecret::new(WEB_SECRET))
            .allow_short_secrets()
            .redirect_uri("https://web.example/cb")
            .redirect_uri("https://web.example/cb?tenant=1")
            .scope("read write")
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("svc", &ClientSecret::new("svc-secret"))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::private_key_jwt(JWT_CLIENT, client_keys(&[&jwt_client_key()]))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let config = ServerConfig::builder(ISSUER).build().unwrap();
    let events = EventLog::default();
    let server =
        Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new()).with_hooks(events.clone());
    Fixture { server, store, clock, events }
}

/// A valid authorization query for `app`, followed by `extra` (already encoded, starting with `&`).
pub fn app_query(extra: &str) -> String {
    format!(
        "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=st8\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

/// A valid authorization query for `web` to `https://web.example/cb`.
pub fn web_query(extra: &str) -> String {
    format!(
        "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&state=st8&scope=read\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

impl Fixture {
    pub fn authorize(&self, query: &str) -> AuthorizeOutcome {
        block_on(self.server.authorize(&Request::get(query)))
    }

    /// The consent request for a query that must be valid.
    pub fn consent(&self, query: &str) -> ConsentRequest {
        match self.authorize(query) {
            AuthorizeOutcome::Consent(c) => c,
            AuthorizeOutcome::Error { error, .. } => panic!("expected consent, got {error:?}"),
            _ => unreachable!("a variant this code does not know"),
        }
    }

    /// The error and response for a query that must fail.
    pub fn authorize_error(&self, query: &str) -> (oauth21::AuthorizeError, Response) {
        match self.authorize(query) {
            AuthorizeOutcome::Error { error, response } => (error, response),
            AuthorizeOutcome::Consent(_) => panic!("expected an error for {query}"),
            _ => unreachable!("a variant this code does not know"),
        }
    }

    /// Approves `query` as alice and returns the code.
    pub fn code(&self, query: &str) -> String {
        let consent = self.consent(query);
        let response = block_on(self.server.approve(&consent, Approval::new(Subject::new("alice").unwrap())))
            .unwrap()
            .into_response();
        query_param(response.location().unwrap(), "code").unwrap()
    }

    /// Posts `body` to the token endpoint, with an optional Authorization header.
    pub fn token(&self, body: &str, authorization: Option<&str>) -> Response {
        let mut request = Request::form_post(body.as_bytes());
        if let Some(a) = authorization {
            request = request.with_authorization(a.as_bytes());
        }
        block_on(self.server.token(&request))
    }
}

/// The JSON body of a response.
pub fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(response.body()).expect("JSON body")
}

/// The decoded value of `name` in the query of `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The token request body redeeming `code` for `app` with the right verifier.
pub fn app_redeem_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id=app&code={code}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&code_verifier={VERIFIER}"
    )
}

impl Fixture {
    /// Runs the code flow for `app` (scope `read write`) and returns (access, refresh) tokens.
    pub fn app_tokens(&self) -> (String, String) {
        let code = self.code(&app_query("&scope=read%20write"));
        let response = self.token(&app_redeem_body(&code), None);
        assert_eq!(response.status(), 200, "code redemption");
        let body = json(&response);
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    }

    /// Refreshes `refresh` as `app`, with `extra` (already encoded, starting with `&`) appended.
    pub fn refresh(&self, refresh: &str, extra: &str) -> Response {
        self.token(&format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}{extra}"), None)
    }
}

/// A fixture whose server uses `config` instead of the default configuration.
pub fn fixture_with(config: ServerConfig) -> Fixture {
    let Fixture { store, clock, events, .. } = fixture();
    let server =
        Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new()).with_hooks(events.clone());
    Fixture { server, store, clock, events }
}

/// `target/debug/examples/server`, next to this test's own directory (`target/debug/deps`).
pub fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join("examples").join(format!("server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: plain `cargo test` builds it, or run `cargo build --example server`",
        binary.display()
    );
    binary
}

/// A client's DPoP key (P-256) that makes proofs, as a client library would.
pub struct DpopKey {
    pair: ring::signature::EcdsaKeyPair,
    jwk: serde_json::Value,
    jkt: String,
}

impl DpopKey {
    pub fn new() -> Self {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let ours =
            oauth21::jose::SigningKey::from_pkcs8_der(oauth21::jose::Algorithm::ES256, "k", pkcs8.as_ref()).unwrap();
        let mut jwk = ours.public_key().to_jwk();
        for member in ["kid", "alg", "use"] {
            jwk.as_object_mut().unwrap().remove(member);
        }
        Self { pair, jwk, jkt: ours.public_key().thumbprint() }
    }

    /// The key's RFC 7638 thumbprint.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof for `htm` `htu` at unix time `iat`, with a fresh jti and `extra` claims.
    pub fn proof(&self, htm: &str, htu: &str, iat: i64, extra: serde_json::Value) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut jti = [0u8; 12];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti).unwrap();
        let mut claims = serde_json::json!({ "jti": URL_SAFE_NO_PAD.encode(jti), "htm": htm, "htu": htu, "iat": iat });
        if let Some(extra) = extra.as_object() {
            claims.as_object_mut().unwrap().extend(extra.clone());
        }
        let header = serde_json::json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.pair.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

impl Fixture {
    /// The fixture's now, in unix seconds.
    pub fn unix_now(&self) -> i64 {
        oauth21::Clock::now(&*self.clock).unix_timestamp()
    }

    /// A token request with `body` and a `DPoP` header of `key` for the token endpoint.
    pub fn token_with_proof(&self, body: &str, authorization: Option<&str>, key: &DpopKey) -> Response {
        let proof = key.proof("POST", &format!("{ISSUER}/token"), self.unix_now(), serde_json::json!({}));
        self.token_with_dpop_header(body, authorization, &proof)
    }

    /// A token request with `body` and the given `DPoP` header value.
    pub fn token_with_dpop_header(&self, body: &str, authorization: Option<&str>, proof: &str) -> Response {
        let mut request = Request::form_post(body.as_bytes()).with_dpop(proof.as_bytes());
        if let Some(a) = authorization {
            request = request.with_authorization(a.as_bytes());
        }
        block_on(self.server.token(&request))
    }
}

/// The `private_key_jwt` client of [`fixture`].
pub const JWT_CLIENT: &str = "jwt-svc";
/// The `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `jwt-svc`'s signing key (Ed25519, kid `jwt-svc-1`).
pub fn jwt_client_key() -> SigningKey {
    SigningKey::from_pkcs8_der(Algorithm::EdDSA, "jwt-svc-1", include_bytes!("../keys/ed25519.pk8.der")).unwrap()
}

/// The registration's JWK Set holding the public halves of `keys`.
pub fn client_keys(keys: &[&SigningKey]) -> ClientKeys {
    let jwks = serde_json::json!({ "keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>() });
    ClientKeys::from_jwks(jwks.to_string().as_bytes()).unwrap()
}

/// Claims of a valid assertion by `client` at unix time `now`: the issuer as `aud`, a minute
/// of life, a fresh `jti`.
pub fn assertion_claims(client: &str, now: i64) -> serde_json::Value {
    use base64::Engine as _;
    let mut jti = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti).unwrap();
    serde_json::json!({
        "iss": client, "sub": client, "aud": ISSUER, "iat": now, "exp": now + 60,
        "jti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
    })
}

/// `claims` signed by `key` (header `alg`, `typ: JWT`, `kid`).
pub fn sign_assertion(key: SigningKey, claims: &serde_json::Value) -> String {
    let signer = KeySet::with_active(key);
    block_on(oauth21::jose::sign_with(&signer, "JWT", claims.to_string().as_bytes())).unwrap()
}

/// The form parameters presenting `assertion`.
pub fn assertion_params(assertion: &str) -> String {
    format!("client_assertion_type={}&client_assertion={assertion}", JWT_BEARER.replace(':', "%3A"))
}

impl Fixture {
    /// A fresh valid assertion by `jwt-svc` at the fixture's current time.
    pub fn jwt_client_assertion(&self) -> String {
        sign_assertion(jwt_client_key(), &assertion_claims(JWT_CLIENT, self.clock.now().unix_timestamp()))
    }
}

/// One key per algorithm, in the forms each side loads: ours, and `jsonwebtoken`'s (an
/// independent JOSE implementation) for signing.
pub struct Key {
    pub alg: Algorithm,
    pub ours: SigningKey,
    pub theirs: jsonwebtoken::EncodingKey,
}

impl Key {
    /// The algorithm as `jsonwebtoken` names it.
    pub fn their_alg(&self) -> jsonwebtoken::Algorithm {
        match self.alg {
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            _ => jsonwebtoken::Algorithm::RS256,
        }
    }
}

/// Fresh EdDSA and ES256 keys and the fixture RSA key, in that order, each with id `kid`.
pub fn keys(kid: &str) -> Vec<Key> {
    use jsonwebtoken::EncodingKey;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let rng = ring::rand::SystemRandom::new();
    let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap().as_ref().to_vec();
    let rsa = include_bytes!("../keys/rsa2048.pk8.der");
    vec![
        Key {
            alg: Algorithm::EdDSA,
            ours: SigningKey::from_pkcs8_der(Algorithm::EdDSA, kid, &ed).unwrap(),
            theirs: EncodingKey::from_ed_der(&ed),
        },
        Key {
            alg: Algorithm::ES256,
            ours: SigningKey::from_pkcs8_der(Algorithm::ES256, kid, &ec).unwrap(),
            theirs: EncodingKey::from_ec_der(&ec),
        },
        Key {
            alg: Algorithm::RS256,
            ours: SigningKey::from_pkcs8_der(Algorithm::RS256, kid, rsa).unwrap(),
            theirs: EncodingKey::from_rsa_der(include_bytes!("../keys/rsa2048.pkcs1.der")),
        },
    ]
}
