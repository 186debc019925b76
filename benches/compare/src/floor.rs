//! The floor of each operation: the work no implementation of the same design can avoid, done
//! directly with the primitives oauth21 uses (ring's `SystemRandom`, `sha2`, `base64`,
//! `serde_json`), with no parsing, no store, no validation.
//!
//! | op | floor |
//! |---|---|
//! | code flow | 4 random 32-byte values (code, grant id, access, refresh) and their base64url text; SHA-256 of the code when stored and when looked up, of the PKCE verifier (and its base64url form compared with the challenge), of the access and of the refresh token; the token JSON answer |
//! | refresh | 2 random values (access, refresh) and their base64url; SHA-256 of the presented refresh token, of the new access and of the new refresh token; the token JSON answer |
//! | client_credentials | base64 decoding of the Basic credentials; SHA-256 of the secret, compared in constant time; 1 random value (access) and its base64url and SHA-256; the token JSON answer |
//! | introspection | base64 decoding of the Basic credentials; SHA-256 of the secret (constant-time compare) and of the token; the introspection JSON answer |
//! | bearer check | SHA-256 of the token |

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{CHALLENGE, SECRET, VERIFIER};

#[derive(Serialize)]
struct TokenAnswer<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: &'a str,
}

#[derive(Serialize)]
struct IntrospectionAnswer<'a> {
    active: bool,
    scope: &'a str,
    client_id: &'a str,
    token_type: &'static str,
    exp: i64,
    iat: i64,
    sub: &'a str,
    iss: &'a str,
}

/// The primitives, with the values an operation meets prepared once.
pub struct Floor {
    rng: SystemRandom,
    secret_digest: [u8; 32],
    basic_b64: String,
}

impl Default for Floor {
    fn default() -> Self {
        Self::new()
    }
}

fn sha(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Floor {
    pub fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            secret_digest: sha(SECRET.as_bytes()),
            basic_b64: STANDARD.encode(format!("svc:{SECRET}")),
        }
    }

    /// A fresh 256-bit value as base64url text.
    fn token(&self) -> String {
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes).expect("random");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token_json(access: &str, refresh: Option<&str>) -> Vec<u8> {
        let answer = TokenAnswer {
            access_token: access,
            token_type: "Bearer",
            expires_in: 3600,
            refresh_token: refresh,
            scope: "read",
        };
        serde_json::to_vec(&answer).expect("json")
    }

    /// Checks the Basic credentials: decode, digest the secret, compare.
    fn client_auth(&self) -> bool {
        let decoded = STANDARD.decode(black_box(&self.basic_b64)).expect("base64");
        let colon = decoded.iter().position(|&b| b == b':').expect("colon");
        ct_eq(&sha(&decoded[colon + 1..]), &self.secret_digest)
    }

    #[inline(never)]
    pub fn code_flow(&self) -> Vec<u8> {
        // Approve: the code and the grant id; the code's digest is stored.
        let code = self.token();
        let grant_id = self.token();
        let stored = sha(code.as_bytes());
        // Redeem: look the presented code up by digest, check PKCE S256.
        let presented = sha(black_box(code.as_bytes()));
        assert!(ct_eq(&presented, &stored));
        let pkce = URL_SAFE_NO_PAD.encode(sha(black_box(VERIFIER).as_bytes()));
        assert_eq!(pkce, CHALLENGE);
        // Issue: two tokens, stored by digest, and the answer.
        let access = self.token();
        let refresh = self.token();
        black_box((sha(access.as_bytes()), sha(refresh.as_bytes()), &grant_id));
        Self::token_json(&access, Some(&refresh))
    }

    #[inline(never)]
    pub fn refresh(&self, presented: &str) -> Vec<u8> {
        black_box(sha(presented.as_bytes()));
        let access = self.token();
        let refresh = self.token();
        black_box((sha(access.as_bytes()), sha(refresh.as_bytes())));
        Self::token_json(&access, Some(&refresh))
    }

    #[inline(never)]
    pub fn client_credentials(&self) -> Vec<u8> {
        assert!(self.client_auth());
        let access = self.token();
        black_box(sha(access.as_bytes()));
        Self::token_json(&access, None)
    }

    #[inline(never)]
    pub fn introspect(&self, token: &str) -> Vec<u8> {
        assert!(self.client_auth());
        black_box(sha(token.as_bytes()));
        let answer = IntrospectionAnswer {
            active: true,
            scope: "read",
            client_id: "app",
            token_type: "Bearer",
            exp: 1_700_003_600,
            iat: 1_700_000_000,
            sub: "alice",
            iss: "https://as.example",
        };
        serde_json::to_vec(&answer).expect("json")
    }

    #[inline(never)]
    pub fn bearer(&self, token: &str) -> [u8; 32] {
        sha(token.as_bytes())
    }
}
