//! The actix-web adapter end to end, in process: a client_credentials token, the protected
//! resource through the extractor, and the refusals the core decides (a repeated
//! `Authorization`, no token, a wrong secret).

use std::sync::Arc;

use actix_web::{App, test, web};
use oauth21::{BearerChecker, Client, ClientSecret, GrantType, MemoryStore, Server, ServerConfig, SystemClock};
use oauth21_actix_example::{Oauth, configure};

const BASIC: &str = "Basic c3ZjOnN2Yy1zZWNyZXQtb2Ytc29tZS1sZW5ndGg="; // svc:svc-secret-of-some-length

fn oauth() -> (web::Data<Oauth>, String) {
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::confidential("svc", &ClientSecret::new("svc-secret-of-some-length"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    let config = ServerConfig::builder("http://127.0.0.1:8081").build().unwrap();
    let path = config.metadata_path();
    let api = BearerChecker::new(store.clone(), SystemClock, "api").unwrap();
    (web::Data::new(Oauth { server: Server::new(config, store), api }), path)
}

#[actix_web::test]
async fn token_then_protected_resource_through_the_extractor() {
    let (oauth, path) = oauth();
    let app = test::init_service(App::new().configure(configure(oauth, path.clone()))).await;

    let request = test::TestRequest::post()
        .uri("/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("authorization", BASIC))
        .set_payload("grant_type=client_credentials")
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let body: serde_json::Value = test::read_body_json(response).await;
    let token = body["access_token"].as_str().unwrap().to_owned();

    let me = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let response = test::call_service(&app, me).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["sub"], "svc");

    // Two Authorization headers: refused by the core, not resolved by the adapter.
    let twice = test::TestRequest::get()
        .uri("/api/me")
        .append_header(("authorization", format!("Bearer {token}")))
        .append_header(("authorization", "Bearer other"))
        .to_request();
    assert_eq!(test::call_service(&app, twice).await.status(), 400);

    // No token: 401 with the bare challenge.
    let response = test::call_service(&app, test::TestRequest::get().uri("/api/me").to_request()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer realm=\"api\"");

    // A wrong secret: 401 invalid_client with the Basic challenge.
    let request = test::TestRequest::post()
        .uri("/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("authorization", "Basic c3ZjOndyb25n"))
        .set_payload("grant_type=client_credentials")
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_some());

    let response = test::call_service(&app, test::TestRequest::get().uri(&path).to_request()).await;
    assert_eq!(response.status(), 200);
}
