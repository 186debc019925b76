//! oxide-auth 0.6 through its `endpoint` flows and `frontends::simple` types: `ClientMap`,
//! `AuthMap` and `TokenMap` with `RandomGenerator` (32 random bytes per code and token, from the
//! OS generator, like oauth21's), PKCE required through `AddonList` + `Pkce::required()`.
//!
//! oxide-auth has no introspection endpoint: its resource flow (recover the token's grant, check
//! expiry and scope) is the closest operation and stands in for both introspection and the
//! bearer check.

use std::collections::HashMap;

use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, OwnerConsent, OwnerSolicitor, Solicitation, WebRequest,
};
use oxide_auth::frontends::simple::endpoint::{Generic, Vacant, client_credentials_flow, refresh_flow, resource_flow};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{Body, Request, Response, Status};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::grant::Grant;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{Client, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError};
use oxide_auth::primitives::scope::Scope;
use sha2::{Digest, Sha256};

use crate::{REDIRECT, SECRET, VERIFIER, authorize_query, basic, json_str};

/// Token and code length in random bytes, as in oauth21.
const TOKEN_BYTES: usize = 32;

/// The resource owner approves every request (the host's consent step, done in-flow).
pub struct Allow;

impl<W: WebRequest> OwnerSolicitor<W> for Allow {
    fn check_consent(&mut self, _: &mut W, _: Solicitation) -> OwnerConsent<W::Response> {
        OwnerConsent::Authorized("alice".to_owned())
    }
}

/// Client secrets stored as a SHA-256 digest and compared in constant time: oauth21's policy,
/// for a like-for-like client_credentials comparison (oxide-auth's default is Argon2).
pub struct Sha256Policy;

impl PasswordPolicy for Sha256Policy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        Sha256::digest(passphrase).to_vec()
    }

    fn check(&self, _client_id: &str, passphrase: &[u8], stored: &[u8]) -> Result<(), RegistrarError> {
        let digest = Sha256::digest(passphrase);
        let diff = digest.iter().zip(stored).fold(stored.len() ^ 32, |acc, (a, b)| acc | usize::from(a ^ b));
        if diff == 0 { Ok(()) } else { Err(RegistrarError::Unspecified) }
    }
}

type Endpoint =
    Extended<Generic<ClientMap, AuthMap<RandomGenerator>, TokenMap<RandomGenerator>, Allow, Vacant, Vacant>, AddonList>;

/// How a confidential client's secret is kept by oxide-auth's `ClientMap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretPolicy {
    /// oxide-auth's default: Argon2id (RFC 9106 low-memory parameters).
    Argon2,
    /// A SHA-256 digest, as oauth21 keeps generated secrets.
    Sha256,
}

/// One oxide-auth deployment.
pub struct OxideAuth {
    endpoint: Endpoint,
    scopes: Vec<Scope>,
    query: String,
    cc_authorization: String,
}

/// Fills oxide-auth's simple request map from raw form bytes, as a frontend does.
fn form(raw: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

fn json_body(response: &Response) -> &str {
    match &response.body {
        Some(Body::Json(json)) => json,
        other => panic!("expected a JSON body, got {other:?}"),
    }
}

impl OxideAuth {
    /// Clients: `app` (public) and `svc` (confidential, secret kept under `policy`).
    pub fn new(policy: SecretPolicy) -> Self {
        let mut registrar = ClientMap::new();
        if policy == SecretPolicy::Sha256 {
            registrar.set_password_policy(Sha256Policy);
        }
        registrar.register_client(Client::public(
            "app",
            RegisteredUrl::Exact(REDIRECT.parse().expect("url")),
            "read".parse().expect("scope"),
        ));
        registrar.register_client(Client::confidential(
            "svc",
            RegisteredUrl::Exact("https://svc.example/cb".parse().expect("url")),
            "read".parse().expect("scope"),
            SECRET.as_bytes(),
        ));
        let mut addons = AddonList::new();
        addons.push_code(Pkce::required());
        let endpoint = Extended::extend_with(
            Generic {
                registrar,
                authorizer: AuthMap::new(RandomGenerator::new(TOKEN_BYTES)),
                issuer: TokenMap::new(RandomGenerator::new(TOKEN_BYTES)),
                solicitor: Allow,
                scopes: Vacant,
                response: Vacant,
            },
            addons,
        );
        Self {
            endpoint,
            scopes: vec!["read".parse().expect("scope")],
            query: authorize_query(),
            cc_authorization: basic("svc", SECRET),
        }
    }

    /// Op 1: the authorization flow (validation and the owner's approval through the solicitor)
    /// then the access token flow with the PKCE verifier.
    #[inline(never)]
    pub fn code_flow(&mut self) -> Response {
        let request = Request { query: form(&self.query), ..Request::default() };
        let redirect = AuthorizationFlow::prepare(&mut self.endpoint)
            .unwrap_or_else(|_| panic!("authorization flow"))
            .execute(request)
            .expect("authorize");
        assert_eq!(redirect.status, Status::Redirect);
        let location = redirect.location.expect("Location");
        let code = location.query_pairs().find(|(k, _)| k == "code").expect("code").1;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("client_id", "app")
            .append_pair("code", &code)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_verifier", VERIFIER)
            .finish();
        let request = Request { urlbody: form(&body), ..Request::default() };
        let response = AccessTokenFlow::prepare(&mut self.endpoint)
            .unwrap_or_else(|_| panic!("access token flow"))
            .execute(request)
            .expect("token");
        assert_eq!(response.status, Status::Ok, "{:?}", response.body);
        response
    }

    /// A fresh grant's (access token, refresh token).
    pub fn grant(&mut self) -> (String, String) {
        let response = self.code_flow();
        let json = json_body(&response);
        (
            json_str(json, "access_token").expect("access").into(),
            json_str(json, "refresh_token").expect("refresh").into(),
        )
    }

    /// The refresh request body for `refresh` (built in setup).
    pub fn refresh_body(refresh: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", "app")
            .append_pair("refresh_token", refresh)
            .finish()
    }

    /// Op 2: one refresh (oxide-auth's `TokenMap` rotates: new access and refresh token).
    #[inline(never)]
    pub fn refresh(&mut self, body: &str) -> Response {
        let request = Request { urlbody: form(body), ..Request::default() };
        let inner = &mut self.endpoint.inner;
        let response = refresh_flow(&inner.registrar, &mut inner.issuer).execute(request).expect("refresh");
        assert_eq!(response.status, Status::Ok, "{:?}", response.body);
        response
    }

    /// Op 3: client_credentials with client_secret_basic.
    #[inline(never)]
    pub fn client_credentials(&mut self) -> Response {
        let request = Request {
            urlbody: form("grant_type=client_credentials&scope=read"),
            auth: Some(self.cc_authorization.clone()),
            ..Request::default()
        };
        let inner = &mut self.endpoint.inner;
        let response =
            client_credentials_flow(&inner.registrar, &mut inner.issuer, &mut Allow).execute(request).expect("cc");
        assert_eq!(response.status, Status::Ok, "{:?}", response.body);
        response
    }

    /// Ops 4 and 5: the resource flow for scope `read`; `authorization` is `Bearer <token>`.
    #[inline(never)]
    pub fn resource(&mut self, authorization: &str) -> Grant {
        let request = Request { auth: Some(authorization.to_owned()), ..Request::default() };
        match resource_flow(&mut self.endpoint.inner.issuer, &self.scopes).execute(request) {
            Ok(grant) => grant,
            Err(_) => panic!("resource flow refused the token"),
        }
    }
}
