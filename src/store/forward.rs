//! A shared or borrowed store is a store: every operation forwarded.

use super::*;

/// One forwarding impl per pointer type: every operation goes to the store pointed at.
macro_rules! forward_store {
    ($($(#[$doc:meta])* $pointer:ty;)*) => {$(
        $(#[$doc])*
        impl<T: Store + ?Sized> Store for $pointer {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn register_client(
                &self,
                client: &Client,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).register_client(client, at)
            }
            fn insert_device_request(
                &self,
                hash: &TokenHash,
                request: DeviceRequest,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<DeviceInsert, StoreError>> + Send {
                (**self).insert_device_request(hash, request, at)
            }
            fn device_request_by_user_code(
                &self,
                user_code: &TokenHash,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<Option<(TokenHash, DeviceRequest)>, StoreError>> + Send {
                (**self).device_request_by_user_code(user_code, at)
            }
            fn decide_device_request(
                &self,
                hash: &TokenHash,
                decision: DeviceState,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<DeviceDecided, StoreError>> + Send {
                (**self).decide_device_request(hash, decision, at)
            }
            fn poll_device_request(
                &self,
                hash: &TokenHash,
                client_id: &ClientId,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<Option<DevicePoll>, StoreError>> + Send {
                (**self).poll_device_request(hash, client_id, at)
            }
            fn claim_once(
                &self,
                key: &TokenHash,
                at: OffsetDateTime,
                until: OffsetDateTime,
            ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send {
                (**self).claim_once(key, at, until)
            }
            fn insert_pushed_request(
                &self,
                hash: &TokenHash,
                request: PushedRequest,
                at: OffsetDateTime,
                until: OffsetDateTime,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).insert_pushed_request(hash, request, at, until)
            }
            fn pushed_request(
                &self,
                hash: &TokenHash,
                at: OffsetDateTime,
            ) -> impl Future<Output = Result<Option<PushedRequest>, StoreError>> + Send {
                (**self).pushed_request(hash, at)
            }
            fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
                (**self).client(id)
            }
            fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).insert_code(code)
            }
            fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
                (**self).take_code(hash)
            }
            fn insert_grant(&self, grant: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
                (**self).insert_grant(grant)
            }
            fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
                (**self).rotate_refresh(rotation)
            }
            fn revoke_subject(
                &self,
                subject: &Subject,
                at: OffsetDateTime,
                remember_until: OffsetDateTime,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).revoke_subject(subject, at, remember_until)
            }
            fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).revoke_access_token(hash)
            }
            fn revoke_grant(
                &self,
                id: &GrantId,
                at: OffsetDateTime,
                remember_until: OffsetDateTime,
            ) -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).revoke_grant(id, at, remember_until)
            }
            fn access_token(
                &self,
                hash: &TokenHash,
            ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
                (**self).access_token(hash)
            }
            fn refresh_token(
                &self,
                hash: &TokenHash,
            ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
                (**self).refresh_token(hash)
            }
        }
    )*};
}

forward_store! {
    std::sync::Arc<T>;
    /// A borrowed store, for a server derived per request ([`Server::with_store`](crate::Server::with_store))
    /// over a store the host owns for that request (a database transaction, say).
    &T;
}
