//! The persisted form: clients and store records as every real store keeps them. Each fixture
//! below is a golden copy of the wire format; a change that breaks one breaks every deployed
//! store's data, so it must come with a new version and a reader for the old one.

use oauth21::store::{AccessTokenRecord, CodeRecord, GrantRecord, NewGrant, RefreshTokenRecord, Rotation};
use oauth21::{Client, ClientSecret, GrantType, RegistrationError};

const PUBLIC_CLIENT: &str = r#"{"version":1,"id":"spa","kind":{"type":"public"},"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"read write","default_scope":"read","introspect_any":false}"#;

/// `service` with the secret `a-service-secret-of-32-bytes-xx` (31 bytes).
const CONFIDENTIAL_CLIENT: &str = r#"{"version":1,"id":"service","kind":{"type":"confidential","secrets":[{"alg":"sha256","value":"i9AS57lawI5MvE01AM7ZzASf5in7DN4CuLXBqK_VuKI"},{"alg":"external","value":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}],"auth_methods":["client_secret_basic"]},"redirect_uris":[],"grant_types":["client_credentials"],"scope":"read","default_scope":null,"introspect_any":true,"access_token_format":"jwt"}"#;

fn public_client() -> Client {
    Client::public("spa")
        .redirect_uri("http://127.0.0.1/cb")
        .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
        .scope("read write")
        .default_scope("read")
        .build()
        .unwrap()
}

fn confidential_client() -> Client {
    Client::confidential("service", &ClientSecret::new("a-service-secret-of-32-bytes-xx"))
        .external_secret("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .auth_methods([oauth21::AuthMethod::ClientSecretBasic])
        .grant_types([GrantType::ClientCredentials])
        .scope("read")
        .may_introspect_any_token()
        .access_token_format(oauth21::AccessTokenFormat::Jwt)
        .build()
        .unwrap()
}

#[test]
fn clients_serialize_to_the_golden_version_1_form_and_read_back() {
    for (client, golden) in [(public_client(), PUBLIC_CLIENT), (confidential_client(), CONFIDENTIAL_CLIENT)] {
        assert_eq!(serde_json::to_string(&client).unwrap(), golden);
        assert_eq!(serde_json::from_str::<Client>(golden).unwrap(), client);
    }
}

#[test]
fn a_client_record_without_a_version_is_version_1_and_an_unknown_version_is_refused() {
    let unversioned = PUBLIC_CLIENT.replace(r#""version":1,"#, "");
    assert_eq!(serde_json::from_str::<Client>(&unversioned).unwrap(), public_client());
    let future = PUBLIC_CLIENT.replace(r#""version":1"#, r#""version":2"#);
    let error = serde_json::from_str::<Client>(&future).unwrap_err().to_string();
    assert!(error.contains(&RegistrationError::UnsupportedVersion(2).to_string()), "{error}");
    // Unknown members are refused rather than silently dropped on the next write.
    let extra = PUBLIC_CLIENT.replace(r#""version":1,"#, r#""version":1,"admin":true,"#);
    assert!(serde_json::from_str::<Client>(&extra).is_err());
}

#[test]
fn az10_a_stored_client_whose_default_scope_exceeds_its_scope_is_refused_when_read() {
    // Written to the store by hand or by an older, laxer writer: reading it must not yield a
    // client that would be granted `admin` by default.
    let widened = PUBLIC_CLIENT.replace(r#""default_scope":"read""#, r#""default_scope":"read admin""#);
    let error = serde_json::from_str::<Client>(&widened).unwrap_err().to_string();
    assert!(error.contains(&RegistrationError::DefaultScopeNotAllowed.to_string()), "{error}");
}

#[test]
fn sec07_a_stored_client_that_breaks_a_registration_rule_is_refused_when_read() {
    let cases = [
        // A public client with client_credentials (CC-01).
        PUBLIC_CLIENT.replace(r#""refresh_token"]"#, r#""client_credentials"]"#),
        // A public client allowed to introspect every token.
        PUBLIC_CLIENT.replace(r#""introspect_any":false"#, r#""introspect_any":true"#),
        // The code grant without a redirect URI.
        PUBLIC_CLIENT.replace(r#"["http://127.0.0.1/cb"]"#, "[]"),
        // A redirect URI that registration refuses (AZ-07).
        PUBLIC_CLIENT.replace("http://127.0.0.1/cb", "http://evil.example/cb"),
        // A confidential client without secrets, or with `none` as a method.
        CONFIDENTIAL_CLIENT.replace(
            r#"[{"alg":"sha256","value":"i9AS57lawI5MvE01AM7ZzASf5in7DN4CuLXBqK_VuKI"},{"alg":"external","value":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}]"#,
            "[]",
        ),
        CONFIDENTIAL_CLIENT.replace(r#"["client_secret_basic"]"#, r#"["none"]"#),
        CONFIDENTIAL_CLIENT.replace(r#"["client_secret_basic"]"#, "[]"),
    ];
    for case in cases {
        assert!(serde_json::from_str::<Client>(&case).is_err(), "{case}");
    }
}

#[test]
fn tk06_a_stored_client_with_the_empty_secret_digest_is_refused_when_read() {
    let empty = ClientSecret::new("").hash().to_string();
    let stored = CONFIDENTIAL_CLIENT.replace("i9AS57lawI5MvE01AM7ZzASf5in7DN4CuLXBqK_VuKI", &empty);
    let error = serde_json::from_str::<Client>(&stored).unwrap_err().to_string();
    assert!(error.contains(&RegistrationError::EmptySecret.to_string()), "{error}");
}

/// Reads `golden` as `T` and writes it back byte for byte.
fn round_trips<T: serde::Serialize + serde::de::DeserializeOwned>(golden: &str) {
    let value: T = serde_json::from_str(golden).unwrap_or_else(|e| panic!("{golden}: {e}"));
    assert_eq!(serde_json::to_string(&value).unwrap(), golden);
}

const HASH_A: &str = "WzWxvBUT7NgRSTLqsS9vvK1lNQz3ZyBRMWGAFvyfdT8";
const HASH_B: &str = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";

#[test]
fn store_records_keep_their_golden_form() {
    let code = format!(
        r#"{{"hash":"{HASH_A}","grant_id":"g-1","client_id":"spa","redirect_uri":"http://127.0.0.1:5000/cb","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","scope":"read","subject":"alice","issued_at":1700000000,"expires_at":1700000060}}"#
    );
    round_trips::<CodeRecord>(&code);
    let access = format!(
        r#"{{"hash":"{HASH_A}","grant_id":"g-1","client_id":"spa","subject":"alice","scope":"read","audience":"https://api.example","issued_at":1700000000,"expires_at":1700003600}}"#
    );
    round_trips::<AccessTokenRecord>(&access);
    // An access record without an audience omits the member.
    round_trips::<AccessTokenRecord>(&access.replace(r#""audience":"https://api.example","#, ""));
    let refresh = format!(
        r#"{{"hash":"{HASH_B}","grant_id":"g-1","client_id":"spa","subject":"alice","scope":"read","issued_at":1700000000,"expires_at":1701209600,"grant_expires_at":1702592000,"rotated_at":null}}"#
    );
    round_trips::<RefreshTokenRecord>(&refresh);
    round_trips::<RefreshTokenRecord>(&refresh.replace(r#""rotated_at":null"#, r#""rotated_at":1700000100"#));
    let grant = r#"{"grant_id":"g-1","client_id":"spa","subject":"alice","scope":"read","authorized_at":1700000000,"expires_at":1702592000}"#;
    round_trips::<GrantRecord>(grant);
    round_trips::<NewGrant>(&format!(r#"{{"grant":{grant},"access":{access},"refresh":{refresh}}}"#));
    round_trips::<NewGrant>(&format!(r#"{{"grant":{grant},"access":{access},"refresh":null}}"#));
    round_trips::<Rotation>(&format!(
        r#"{{"from":"{HASH_B}","grace_retry":false,"access":{access},"refresh":{refresh},"at":1700000100}}"#
    ));
}

/// `billing`, a `private_key_jwt` client with the RFC 8037 Ed25519 example key, pinned to EdDSA.
const KEYED_CLIENT: &str = r#"{"version":1,"id":"billing","kind":{"type":"confidential","secrets":[],"auth_methods":["private_key_jwt"],"keys":{"keys":[{"crv":"Ed25519","kid":"b-1","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]},"assertion_alg":"EdDSA"},"redirect_uris":[],"grant_types":["client_credentials"],"scope":"invoices","default_scope":null,"introspect_any":false}"#;

fn keyed_client() -> Client {
    let jwks =
        br#"{"keys":[{"crv":"Ed25519","kid":"b-1","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    Client::private_key_jwt("billing", oauth21::ClientKeys::from_jwks(jwks).unwrap())
        .assertion_alg(oauth21::jose::Algorithm::EdDSA)
        .grant_types([GrantType::ClientCredentials])
        .scope("invoices")
        .build()
        .unwrap()
}

#[test]
fn a_private_key_jwt_client_keeps_its_golden_form_and_its_keys_are_checked_when_read() {
    assert_eq!(serde_json::to_string(&keyed_client()).unwrap(), KEYED_CLIENT);
    assert_eq!(serde_json::from_str::<Client>(KEYED_CLIENT).unwrap(), keyed_client());
    let cases = [
        // A private member in a stored key.
        KEYED_CLIENT.replace(r#""kid":"b-1","#, r#""kid":"b-1","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","#),
        // A key without kid, a symmetric key, an empty set.
        KEYED_CLIENT.replace(r#""kid":"b-1","#, ""),
        KEYED_CLIENT.replace(r#""crv":"Ed25519","kid":"b-1","kty":"OKP","x""#, r#""kid":"b-1","kty":"oct","k""#),
        KEYED_CLIENT.replace(r#"{"keys":[{"crv":"Ed25519","kid":"b-1","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#, r#"{"keys":[]}"#),
        // A pinned algorithm no key has, an algorithm that is not asymmetric.
        KEYED_CLIENT.replace(r#""assertion_alg":"EdDSA""#, r#""assertion_alg":"ES256""#),
        KEYED_CLIENT.replace(r#""assertion_alg":"EdDSA""#, r#""assertion_alg":"HS256""#),
        // private_key_jwt without keys, keys without the method.
        KEYED_CLIENT.replace(r#","keys":{"keys":[{"crv":"Ed25519","kid":"b-1","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]},"assertion_alg":"EdDSA""#, ""),
        KEYED_CLIENT.replace(r#"["private_key_jwt"]"#, r#"["client_secret_basic"]"#),
    ];
    for case in cases {
        assert!(serde_json::from_str::<Client>(&case).is_err(), "{case}");
    }
    assert!(oauth21::ClientKeys::from_jwks(br#"{"keys":[]}"#).is_err());
}

#[test]
fn ri02_granted_resources_keep_their_golden_form_on_codes_grants_and_refresh_tokens() {
    let resources = r#""resources":["https://a.example/api","urn:example:b"]"#;
    let code = format!(
        r#"{{"hash":"{HASH_A}","grant_id":"g-1","client_id":"spa","redirect_uri":"http://127.0.0.1:5000/cb","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","scope":"read","subject":"alice","issued_at":1700000000,"expires_at":1700000060,{resources}}}"#
    );
    round_trips::<CodeRecord>(&code);
    let refresh = format!(
        r#"{{"hash":"{HASH_B}","grant_id":"g-1","client_id":"spa","subject":"alice","scope":"read","issued_at":1700000000,"expires_at":1701209600,"grant_expires_at":1702592000,"rotated_at":null,{resources}}}"#
    );
    round_trips::<RefreshTokenRecord>(&refresh);
    let grant = format!(
        r#"{{"grant_id":"g-1","client_id":"spa","subject":"alice","scope":"read","authorized_at":1700000000,"expires_at":1702592000,{resources}}}"#
    );
    round_trips::<GrantRecord>(&grant);
    // A stored resource that is not an absolute URI is refused when read.
    assert!(serde_json::from_str::<GrantRecord>(&grant.replace("urn:example:b", "relative/path")).is_err());
}

/// A dynamically registered client: its resources and what it says about itself.
const REGISTERED_CLIENT: &str = r#"{"version":1,"id":"Zk3r","kind":{"type":"public"},"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"read write","default_scope":"read write","introspect_any":false,"resources":["https://mcp.example/api"],"display":{"client_name":"Agent","client_uri":"https://agent.example","contacts":["ops@agent.example"]}}"#;

#[test]
fn reg01_a_registered_client_keeps_its_golden_form_and_its_display_is_checked_when_read() {
    let client: Client = serde_json::from_str(REGISTERED_CLIENT).unwrap();
    assert_eq!(serde_json::to_string(&client).unwrap(), REGISTERED_CLIENT);
    assert_eq!(client.resources()[0].as_str(), "https://mcp.example/api");
    assert_eq!(client.display().client_name.as_deref(), Some("Agent"));
    let script = REGISTERED_CLIENT.replace("https://agent.example", "javascript:alert(1)");
    assert!(serde_json::from_str::<Client>(&script).is_err(), "a stored display URL is checked like a registered one");
}
