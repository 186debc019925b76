//! oauth21 inside actix-web 4. actix-web has its own request and header types (on `http` 0.2),
//! so the crate's `http` feature (on `http` 1.x) does not apply: the adapter below builds the
//! [`oauth21::Request`] by hand, which is a few lines, and copies the [`oauth21::Response`] back.
//!
//! - [`configure`] mounts `/token`, `/revoke`, `/introspect`, the metadata document and a
//!   protected `/api/me` on an actix `App`.
//! - [`Bearer`] is an extractor: a handler that takes it runs only for a valid token; any other
//!   request gets the 400/401/403 answer with its `WWW-Authenticate` challenge.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use oauth21::store::AccessTokenRecord;
use oauth21::{BearerChecker, BearerError, MemoryStore, Scope, Server, SystemClock};

/// The largest body the endpoints read; the core bounds what it parses as well.
pub const MAX_BODY: usize = 64 * 1024;

/// What the handlers share: the authorization server and the resource server's checker.
pub struct Oauth {
    /// The authorization server.
    pub server: Server<Arc<MemoryStore>>,
    /// The protected resource's token checker, on the same store.
    pub api: BearerChecker<Arc<MemoryStore>, SystemClock>,
}

/// The core's view of an actix request: method, raw query, raw body, and every value of the
/// headers OAuth reads (a repeated `Authorization` is then refused, never resolved).
pub fn oauth_request<'a>(request: &'a HttpRequest, body: &'a [u8]) -> oauth21::Request<'a> {
    let mut out = oauth21::Request::new(oauth21::Method::from_name(request.method().as_str()))
        .with_query(request.query_string().as_bytes())
        .with_body(body);
    let headers = request.headers();
    for value in headers.get_all("authorization") {
        out = out.with_authorization(value.as_bytes());
    }
    for value in headers.get_all("content-type") {
        out = out.with_content_type(value.as_bytes());
    }
    for value in headers.get_all("dpop") {
        out = out.with_dpop(value.as_bytes());
    }
    out
}

/// The core's answer as an actix response: status, every header, body.
pub fn actix_response(response: oauth21::Response) -> HttpResponse {
    let (status, headers, body) = response.into_parts();
    let mut out = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in headers {
        out.insert_header((name, value));
    }
    out.body(body)
}

async fn token(oauth: web::Data<Oauth>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    actix_response(oauth.server.token(&oauth_request(&request, &body)).await)
}

async fn revoke(oauth: web::Data<Oauth>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    actix_response(oauth.server.revoke(&oauth_request(&request, &body)).await)
}

async fn introspect(oauth: web::Data<Oauth>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    actix_response(oauth.server.introspect(&oauth_request(&request, &body)).await)
}

async fn metadata(oauth: web::Data<Oauth>) -> HttpResponse {
    actix_response(oauth.server.metadata())
}

/// A protected resource: runs only with a valid token carrying `read`.
async fn api_me(token: Bearer) -> HttpResponse {
    let body = serde_json::json!({ "sub": token.0.subject.as_str(), "client_id": token.0.client_id.as_str() });
    HttpResponse::Ok().content_type("application/json").body(body.to_string())
}

/// Mounts the endpoints; `oauth` is shared by every worker.
pub fn configure(oauth: web::Data<Oauth>, metadata_path: String) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(oauth)
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/token", web::route().to(token))
            .route("/revoke", web::route().to(revoke))
            .route("/introspect", web::route().to(introspect))
            .route(&metadata_path, web::get().to(metadata))
            .route("/api/me", web::get().to(api_me));
    }
}

/// A verified bearer token with the scope `read`, as an extractor. It reads headers only
/// ([`BearerChecker::check_authorization`]): extractors see no body.
pub struct Bearer(pub AccessTokenRecord);

/// A refused bearer request, answered with the checker's challenge.
#[derive(Debug)]
pub struct Refused(oauth21::Response);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bearer token refused ({})", self.0.status())
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }
    fn error_response(&self) -> HttpResponse {
        actix_response(self.0.clone())
    }
}

impl FromRequest for Bearer {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refused>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let oauth = request.app_data::<web::Data<Oauth>>().cloned();
        let values: Vec<Vec<u8>> = request.headers().get_all("authorization").map(|v| v.as_bytes().to_vec()).collect();
        Box::pin(async move {
            let Some(oauth) = oauth else {
                return Err(Refused(oauth21::bearer::challenge("api", &BearerError::Unavailable)));
            };
            let required = Scope::from_static("read");
            match oauth.api.check_authorization(values.iter().map(Vec::as_slice), &required).await {
                Ok(record) => Ok(Bearer(record)),
                Err(error) => Err(Refused(oauth.api.response(&error))),
            }
        })
    }
}
