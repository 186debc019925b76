//! The introspection endpoint (RFC 7662; IN-01..IN-05).
//!
//! The caller must authenticate as a confidential client (IN-02). A client sees its own tokens;
//! a client registered with [`ClientBuilder::may_introspect_any_token`](crate::ClientBuilder::may_introspect_any_token)
//! (a resource server) sees every token. Anything inactive, unknown or not visible to the caller
//! is answered exactly `{"active":false}` (IN-04), so the endpoint tells nothing about tokens a
//! caller may not see.

use time::OffsetDateTime;

use crate::client::Client;
use crate::config::ServerConfig;
use crate::http::{JsonObject, Response};
use crate::store::{AccessTokenRecord, RefreshTokenRecord};
use crate::types::{ClientId, Scope, Subject};

/// The one answer for every inactive or invisible token (IN-04).
pub(crate) const INACTIVE: &[u8] = br#"{"active":false}"#;

/// What an active token looks like to the caller (IN-03).
struct Active<'a> {
    scope: &'a Scope,
    client_id: &'a ClientId,
    token_type: &'static str,
    exp: i64,
    iat: i64,
    sub: &'a Subject,
    aud: Option<&'a str>,
    iss: &'a str,
    jti: Option<&'a str>,
    /// The DPoP key a bound token needs (RFC 9449 §6.2, DP-04).
    jkt: Option<&'a str>,
}

fn visible(caller: &Client, owner: &ClientId) -> bool {
    caller.may_introspect_any_token() || caller.id() == owner
}

fn active_response(active: &Active<'_>) -> Response {
    let scope = active.scope.as_bytes();
    let estimate = 160 + scope.len() + active.iss.len() + active.aud.map_or(0, str::len);
    let mut body = JsonObject::with_capacity(estimate);
    body.boolean("active", true)
        .optional_text("scope", (!scope.is_empty()).then_some(scope))
        .text("client_id", active.client_id.as_bytes())
        .string("token_type", active.token_type)
        .integer("exp", active.exp)
        .integer("iat", active.iat)
        .text("sub", active.sub.as_bytes())
        .optional_string("aud", active.aud)
        .string("iss", active.iss)
        .optional_string("jti", active.jti);
    if let Some(jkt) = active.jkt {
        body.object("cnf", |cnf| {
            cnf.string("jkt", jkt);
        });
    }
    Response::json(200, body.finish())
}

/// The answer for a token that is not found, or that the caller may not see.
pub(crate) fn inactive() -> Response {
    Response::json(200, INACTIVE.to_vec())
}

/// The answer for an access token (IN-05: expiry, revocation and visibility checked); `jti`
/// is the JWT's own identifier when the token is a JWT (IN-03).
pub(crate) fn access(
    record: &AccessTokenRecord,
    jti: Option<&str>,
    caller: &Client,
    config: &ServerConfig,
    now: OffsetDateTime,
) -> Response {
    if !visible(caller, &record.client_id) || now >= record.expires_at {
        return inactive();
    }
    active_response(&Active {
        scope: &record.scope,
        client_id: &record.client_id,
        token_type: if record.jkt.is_some() { "DPoP" } else { "Bearer" },
        exp: record.expires_at.unix_timestamp(),
        iat: record.issued_at.unix_timestamp(),
        sub: &record.subject,
        aud: record.audience.as_deref(),
        iss: config.issuer().as_str(),
        jti,
        jkt: record.jkt.as_deref(),
    })
}

/// The answer for a refresh token: active only while it is its family's current token and
/// inside both its idle and absolute lifetimes.
pub(crate) fn refresh(
    record: &RefreshTokenRecord,
    caller: &Client,
    config: &ServerConfig,
    now: OffsetDateTime,
) -> Response {
    let live = record.rotated_at.is_none() && now < record.expires_at && now < record.grant_expires_at;
    if !visible(caller, &record.client_id) || !live {
        return inactive();
    }
    active_response(&Active {
        scope: &record.scope,
        client_id: &record.client_id,
        token_type: "refresh_token",
        exp: record.expires_at.unix_timestamp(),
        iat: record.issued_at.unix_timestamp(),
        sub: &record.subject,
        aud: None,
        iss: config.issuer().as_str(),
        jti: None,
        jkt: record.jkt.as_deref(),
    })
}
