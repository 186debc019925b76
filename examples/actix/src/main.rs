//! `cargo run` in this folder: the actix-web adapter on http://127.0.0.1:8081 with one
//! confidential client, `svc` / `svc-secret-of-some-length`.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use oauth21::{BearerChecker, Client, ClientSecret, GrantType, MemoryStore, Server, ServerConfig, SystemClock};
use oauth21_actix_example::{Oauth, configure};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = "http://127.0.0.1:8081";
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::confidential("svc", &ClientSecret::new("svc-secret-of-some-length"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .build()?,
    );
    let config = ServerConfig::builder(issuer).build()?;
    let metadata_path = config.metadata_path();
    let oauth = web::Data::new(Oauth {
        server: Server::new(config, store.clone()),
        api: BearerChecker::new(store, SystemClock, "api")?,
    });
    println!("issuer: {issuer}");
    HttpServer::new(move || App::new().configure(configure(oauth.clone(), metadata_path.clone())))
        .bind(("127.0.0.1", 8081))?
        .run()
        .await?;
    Ok(())
}
