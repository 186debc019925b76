//! The `client_credentials` grant (CC-01..CC-03): a confidential client acting for itself.
//!
//! The access token's subject is the client id; no refresh token is issued (CC-03), since the
//! client can always authenticate again. Each token gets its own grant, so it can be revoked on
//! its own.

use super::{NewAccess, TokenError, Validity};
use crate::client::Client;
use crate::http::{Params, Response};
use crate::store::{GrantRecord, NewGrant};
use crate::types::{GrantId, Resource, Scope, Subject};

/// The token's scope (CC-02): the requested one, within the client's allowed scope, or the
/// client's default scope when none is requested.
pub(crate) fn scope(params: &Params<'_>, client: &Client) -> Result<Scope, TokenError> {
    match params.get("scope").ok().flatten() {
        Some(text) => {
            let scope = Scope::parse(text).map_err(|_| TokenError::InvalidScope("scope is malformed"))?;
            if scope.is_subset_of(client.scope()) {
                Ok(scope)
            } else {
                Err(TokenError::InvalidScope("the requested scope is not allowed for this client"))
            }
        }
        None => client.default_scope().cloned().ok_or(TokenError::InvalidScope("scope is required for this client")),
    }
}

/// Refuses public clients (CC-01), whatever their registration says.
pub(crate) fn check_client(client: &Client) -> Result<(), TokenError> {
    if client.is_public() { Err(TokenError::UnauthorizedClient) } else { Ok(()) }
}

/// The client acting for itself: it is the subject (RFC 9068 §2.2).
pub(crate) fn subject(client: &Client) -> Subject {
    Subject::of_client(client.id())
}

/// The grant to create and the answer to send.
pub(crate) fn issue(
    client: &Client,
    subject: Subject,
    scope: Scope,
    grant_id: GrantId,
    resource: Option<Resource>,
    validity: Validity,
    access: NewAccess,
) -> (NewGrant, Response) {
    let now = validity.issued_at;
    let token_type = access.token_type();
    let (access, access_record) = super::mint_access(access, &grant_id, client.id(), &subject, &scope, validity);
    let expires_at = access_record.expires_at;
    let grant = GrantRecord {
        grant_id,
        client_id: client.id().clone(),
        subject,
        scope: scope.clone(),
        authorized_at: now,
        expires_at,
        resources: resource.into_iter().collect(),
    };
    let response = super::success(&access, token_type, expires_at - now, None, &scope);
    (NewGrant { grant, access: access_record, refresh: None }, response)
}
