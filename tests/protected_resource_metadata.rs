//! Protected-resource metadata (RFC 9728; PRM-01): the document, where it lives, and the
//! `resource_metadata` parameter that points a tokenless client at it.

mod common;

use common::block_on;
use oauth21::bearer::{BearerChecker, BearerError};
use oauth21::protected_resource::ProtectedResourceMetadata;
use oauth21::{ManualClock, MemoryStore, Request, Scope};

#[test]
fn prm01_the_document_names_the_resource_its_servers_and_what_it_accepts() {
    let metadata = ProtectedResourceMetadata::new("https://mcp.example/tools/")
        .unwrap()
        .authorization_server("https://auth.example")
        .scopes_supported(["read", "write"])
        .resource_name("Tools")
        .dpop(false);
    let response = metadata.response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(json["resource"], "https://mcp.example/tools/", "kept exactly as given");
    assert_eq!(json["authorization_servers"], serde_json::json!(["https://auth.example"]));
    assert_eq!(json["scopes_supported"], serde_json::json!(["read", "write"]));
    assert_eq!(json["bearer_methods_supported"], serde_json::json!(["header"]));
    assert_eq!(json["resource_name"], "Tools");
    assert!(json["dpop_signing_alg_values_supported"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(json.get("dpop_bound_access_tokens_required").is_none());
    // RFC 9728 §3.1: the well-known segment goes between the host and the path, the
    // terminating slash removed.
    assert_eq!(metadata.well_known_url(), "https://mcp.example/.well-known/oauth-protected-resource/tools");
    assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/tools");
}

#[test]
fn prm01_every_challenge_names_the_metadata_and_the_audience_is_the_resource() {
    let metadata = ProtectedResourceMetadata::new("https://mcp.example/tools").unwrap();
    let checker = BearerChecker::new(MemoryStore::new(), ManualClock::at_unix(0), "tools")
        .unwrap()
        .accept_dpop("https://mcp.example")
        .unwrap()
        .protected_resource(&metadata);
    let pointer = r#"resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/tools""#;
    let error = block_on(checker.check(&Request::get(""), &Scope::parse("read").unwrap())).unwrap_err();
    assert_eq!(error, BearerError::NoCredentials);
    let response = checker.response(&error);
    assert_eq!(response.status(), 401);
    assert!(response.header("WWW-Authenticate").unwrap().contains(pointer));
    for error in [BearerError::InvalidToken("the access token is invalid"), BearerError::InvalidDpopProof("x")] {
        assert!(checker.response(&error).header("WWW-Authenticate").unwrap().contains(pointer), "{error:?}");
    }
    // Refused outright: query, fragment, plain http off loopback.
    for bad in ["https://mcp.example/tools?x", "http://mcp.example/tools", "https://mcp.example/#x"] {
        assert!(ProtectedResourceMetadata::new(bad).is_err(), "{bad}");
    }
}
