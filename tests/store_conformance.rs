//! `MemoryStore` against the reusable store conformance suite (`oauth21::testing`), in one task
//! and from many threads at once (bad-input classes 4 and 5: double spends across threads).

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::block_on;
use oauth21::MemoryStore;
use oauth21::testing::check_store;

#[test]
fn ac03_rt06_memory_store_passes_the_conformance_suite() {
    let store = MemoryStore::new();
    let cases = block_on(check_store(&store, 32)).unwrap();
    assert_eq!(cases, 19);
}

#[test]
fn ac03_rt06_memory_store_passes_the_suite_from_many_threads_at_once() {
    // Every thread runs the whole suite on the one shared store at the same moment: its fresh
    // random ids keep the cases apart, while the store's locks are contended throughout.
    let store = Arc::new(MemoryStore::new());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                block_on(check_store(&*store, 8))
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().expect("no panic").unwrap(), 19);
    }
}

#[test]
fn rt09_purge_drops_expired_records_but_keeps_rotated_out_tokens_until_the_grant_ends() {
    use common::{app_query, fixture, json};
    use oauth21::hooks::SecurityEvent;
    use time::Duration;

    let fx = fixture();
    let unused_code = fx.code(&app_query(""));
    let (_, first) = fx.app_tokens();
    let second = json(&fx.refresh(&first, ""))["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(fx.store.counts(), (2, 2, 2));

    // After two hours: codes and access tokens are gone, refresh tokens stay.
    fx.clock.advance(Duration::hours(2));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 2));
    assert_eq!(fx.token(&common::app_redeem_body(&unused_code), None).status(), 400);

    // After 20 days: the active token died of idleness and is purged; the rotated-out one is kept
    // until the grant's end, so presenting it is still recognised as a replay.
    fx.clock.advance(Duration::days(20));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 1));
    assert_eq!(fx.refresh(&second, "").status(), 400);
    assert_eq!(fx.refresh(&first, "").status(), 400);
    assert!(matches!(fx.events.take()[..], [SecurityEvent::RefreshTokenReplay { .. }]));

    // After the grant's end everything is gone.
    fx.clock.advance(Duration::days(11));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 0));
}

/// A store written before `claim_once` existed: it forwards the required operations only and
/// declares nothing. It still passes the suite, and the suite checks that its `claim_once`
/// fails closed (unsupported), never reporting a claim it did not make.
#[test]
fn a_store_without_an_optional_operation_fails_it_closed() {
    use oauth21::store::{
        AccessTokenRecord, Capabilities, CodeRecord, CodeTake, InsertOutcome, NewGrant, RefreshTokenRecord,
        RotateOutcome, Rotation, Store, StoreError, StoreErrorKind,
    };
    use oauth21::{Client, ClientId, GrantId, Subject, TokenHash};
    use time::OffsetDateTime;

    struct Older(MemoryStore);
    impl Store for Older {
        async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
            self.0.client(id).await
        }
        async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
            self.0.insert_code(code).await
        }
        async fn take_code(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
            self.0.take_code(hash).await
        }
        async fn insert_grant(&self, grant: NewGrant) -> Result<InsertOutcome, StoreError> {
            self.0.insert_grant(grant).await
        }
        async fn rotate_refresh(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
            self.0.rotate_refresh(rotation).await
        }
        async fn revoke_grant(
            &self,
            id: &GrantId,
            at: OffsetDateTime,
            until: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.revoke_grant(id, at, until).await
        }
        async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
            self.0.revoke_access_token(hash).await
        }
        async fn revoke_subject(
            &self,
            s: &Subject,
            at: OffsetDateTime,
            until: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.revoke_subject(s, at, until).await
        }
        async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
            self.0.access_token(hash).await
        }
        async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
            self.0.refresh_token(hash).await
        }
    }

    let store = Older(MemoryStore::new());
    assert_eq!(store.capabilities(), Capabilities::NONE);
    assert_eq!(block_on(check_store(&store, 8)).unwrap(), 13);
    let now = OffsetDateTime::UNIX_EPOCH;
    let refused = block_on(store.claim_once(&TokenHash::of("k"), now, now + time::Duration::minutes(1)));
    assert_eq!(refused.unwrap_err().kind(), StoreErrorKind::Unsupported);
    // What a server needing claims learns from the declaration: exactly what is missing.
    assert_eq!(store.capabilities().missing(Capabilities::SINGLE_USE_CLAIMS), Capabilities::SINGLE_USE_CLAIMS);
    assert_eq!(MemoryStore::new().capabilities().missing(Capabilities::SINGLE_USE_CLAIMS), Capabilities::NONE);
}

/// A store written from the racy SQL mapping this crate used to document: `insert_grant`
/// checks for a revocation, then writes, without serializing with `revoke_grant`, which cannot
/// see the uncommitted insert (write skew). Interleaved the way two database sessions can be,
/// it leaves a revoked grant's tokens live, and the suite must catch it.
#[test]
fn a_store_with_write_skew_between_insert_and_revoke_fails_the_suite() {
    use std::collections::HashSet;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    use oauth21::store::{
        AccessTokenRecord, CodeRecord, CodeTake, InsertOutcome, NewGrant, RefreshTokenRecord, RotateOutcome, Rotation,
        Store, StoreError,
    };
    use oauth21::{Client, ClientId, GrantId, Subject, TokenHash};
    use time::OffsetDateTime;

    /// Pending once: the other session runs in between.
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[derive(Default)]
    struct Skewed {
        data: MemoryStore,
        /// Committed revocations, as the inserting session's snapshot sees them.
        revoked: Mutex<HashSet<GrantId>>,
        /// Grants whose insert has committed, which is all a revoking session can see.
        committed: Mutex<HashSet<GrantId>>,
    }

    impl Store for Skewed {
        async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
            self.data.client(id).await
        }
        async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
            self.data.insert_code(code).await
        }
        async fn take_code(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
            self.data.take_code(hash).await
        }
        async fn insert_grant(&self, grant: NewGrant) -> Result<InsertOutcome, StoreError> {
            // SELECT ... FROM revoked_grants (nothing uncommitted is visible) ...
            let id = grant.grant.grant_id.clone();
            if self.revoked.lock().unwrap().contains(&id) {
                return Ok(InsertOutcome::GrantRevoked);
            }
            YieldOnce(false).await;
            // ... then INSERT, blind to a revocation that committed meanwhile.
            let outcome = self.data.insert_grant(grant).await?;
            self.committed.lock().unwrap().insert(id);
            Ok(outcome)
        }
        async fn rotate_refresh(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
            self.data.rotate_refresh(rotation).await
        }
        async fn revoke_grant(
            &self,
            id: &GrantId,
            at: OffsetDateTime,
            until: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.revoked.lock().unwrap().insert(id.clone());
            // DELETE FROM tokens WHERE grant_id = $1 reaches committed rows only.
            if self.committed.lock().unwrap().contains(id) {
                self.data.revoke_grant(id, at, until).await?;
            }
            Ok(())
        }
        async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
            self.data.revoke_access_token(hash).await
        }
        async fn revoke_subject(
            &self,
            s: &Subject,
            at: OffsetDateTime,
            until: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.data.revoke_subject(s, at, until).await
        }
        async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
            self.data.access_token(hash).await
        }
        async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
            self.data.refresh_token(hash).await
        }
    }

    let violation = block_on(check_store(&Skewed::default(), 8)).unwrap_err();
    assert!(violation.case.contains("insert_grant racing revoke_grant"), "{violation}");
}
