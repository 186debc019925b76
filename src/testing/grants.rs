//! The cases every store runs: single-use codes, the rotation compare-and-swap, grace retries,
//! kept tokens, revocation, and the concurrent double-spend races.

use super::*;

pub(super) async fn code_is_taken_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a code is taken once, then reported as already taken";
    let e = store_err(CASE);
    let code = fx.code();
    store.insert_code(code.clone()).await.map_err(&e)?;
    match store.take_code(&code.hash).await.map_err(&e)? {
        CodeTake::Taken(record) if record == code => {}
        other => return Err(fail(CASE, format!("first take gave {other:?}"))),
    }
    for _ in 0..2 {
        match store.take_code(&code.hash).await.map_err(&e)? {
            CodeTake::AlreadyTaken(record) if record == code => {}
            other => return Err(fail(CASE, format!("a later take gave {other:?}"))),
        }
    }
    match store.take_code(&fx.hash()).await.map_err(&e)? {
        CodeTake::NotFound => Ok(()),
        other => Err(fail(CASE, format!("an unknown code gave {other:?}"))),
    }
}

pub(super) async fn code_collision_never_overwrites<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "inserting a code under an existing digest fails and keeps the first";
    let e = store_err(CASE);
    let first = fx.code();
    store.insert_code(first.clone()).await.map_err(&e)?;
    let mut second = fx.code();
    second.hash = first.hash;
    if store.insert_code(second).await.is_ok() {
        return Err(fail(CASE, "the colliding insert reported success"));
    }
    match store.take_code(&first.hash).await.map_err(&e)? {
        CodeTake::Taken(record) if record == first => Ok(()),
        other => Err(fail(CASE, format!("the first record was changed: {other:?}"))),
    }
}

pub(super) async fn grant_lookups_and_revocation<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a grant's tokens are found until the grant is revoked";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let refresh = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    if store.insert_grant(new.clone()).await.map_err(&e)? != InsertOutcome::Inserted {
        return Err(fail(CASE, "a fresh grant was not inserted"));
    }
    if store.access_token(&new.access.hash).await.map_err(&e)?.as_ref() != Some(&new.access) {
        return Err(fail(CASE, "the access token was not found as stored"));
    }
    if store.refresh_token(&refresh.hash).await.map_err(&e)?.as_ref() != Some(&refresh) {
        return Err(fail(CASE, "the refresh token was not found as stored"));
    }
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.access_token(&new.access.hash).await.map_err(&e)?.is_some()
        || store.refresh_token(&refresh.hash).await.map_err(&e)?.is_some()
    {
        return Err(fail(CASE, "a token of a revoked grant is still found"));
    }
    // A grant of one access token (client_credentials, a code flow without refresh) too.
    let grant = fx.grant(fx.subject(), fx.now);
    let single = NewGrant { access: fx.access(&grant), refresh: None, grant };
    if store.insert_grant(single.clone()).await.map_err(&e)? != InsertOutcome::Inserted {
        return Err(fail(CASE, "a grant without refresh token was not inserted"));
    }
    if store.access_token(&single.access.hash).await.map_err(&e)?.as_ref() != Some(&single.access) {
        return Err(fail(CASE, "the access token of a grant without refresh token was not found as stored"));
    }
    store.revoke_grant(&single.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.access_token(&single.access.hash).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "the access token of a revoked grant without refresh token is still found"));
    }
    Ok(())
}

pub(super) async fn rotation_is_a_compare_and_swap<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "rotation succeeds only from the active refresh token";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let first = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotation = fx.rotation(&first, false);
    let second = rotation.refresh.clone();
    if store.rotate_refresh(rotation).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "rotating the active token failed"));
    }
    let old = store.refresh_token(&first.hash).await.map_err(&e)?;
    if old.as_ref().and_then(|r| r.rotated_at) != Some(fx.now) {
        return Err(fail(CASE, format!("the replaced token is not kept with rotated_at: {old:?}")));
    }
    if store.rotate_refresh(fx.rotation(&first, false)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a rotated-out token rotated again"));
    }
    if store.rotate_refresh(fx.rotation(&second, false)).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the new active token could not rotate"));
    }
    Ok(())
}

pub(super) async fn grace_retry_works_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a grace retry from the previous token works once and rotates out the active one";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let first = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotation = fx.rotation(&first, false);
    let lost = rotation.refresh.clone();
    store.rotate_refresh(rotation).await.map_err(&e)?;
    let retry = fx.rotation(&first, true);
    let retried = retry.refresh.clone();
    if store.rotate_refresh(retry).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the first grace retry failed"));
    }
    if store.refresh_token(&lost.hash).await.map_err(&e)?.and_then(|r| r.rotated_at).is_none() {
        return Err(fail(CASE, "the token the retry replaced is not marked rotated out"));
    }
    if store.rotate_refresh(fx.rotation(&first, true)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a second grace retry succeeded"));
    }
    if store.refresh_token(&retried.hash).await.map_err(&e)?.and_then(|r| r.rotated_at).is_some() {
        return Err(fail(CASE, "the retried token is not active"));
    }
    Ok(())
}

pub(super) async fn kept_refresh_token_is_replaced_in_place<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a kept refresh token (no rotation) is replaced in place and stays active";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    for extra_days in [1, 2] {
        let mut rotation = fx.rotation(&token, false);
        rotation.refresh = RefreshTokenRecord { expires_at: fx.now + Duration::days(14 + extra_days), ..token.clone() };
        if store.rotate_refresh(rotation).await.map_err(&e)? != RotateOutcome::Rotated {
            return Err(fail(CASE, "keeping the token failed"));
        }
        let stored = store.refresh_token(&token.hash).await.map_err(&e)?;
        match stored {
            Some(r) if r.rotated_at.is_none() && r.expires_at == fx.now + Duration::days(14 + extra_days) => {}
            other => return Err(fail(CASE, format!("the kept token is {other:?}"))),
        }
    }
    Ok(())
}

pub(super) async fn revoked_grant_refuses_inserts_and_rotations<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a revoked grant refuses later inserts and rotations";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new.clone()).await.map_err(&e)?;
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.rotate_refresh(fx.rotation(&token, false)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a revoked family rotated"));
    }
    // A grant revoked before it was ever inserted (a replay detected mid-redemption).
    let late = fx.new_grant();
    store.revoke_grant(&late.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    let access = late.access.hash;
    if store.insert_grant(late).await.map_err(&e)? != InsertOutcome::GrantRevoked {
        return Err(fail(CASE, "a grant revoked beforehand was inserted"));
    }
    if store.access_token(&access).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a refused insert left a token behind"));
    }
    Ok(())
}

pub(super) async fn subject_revocation_reaches_older_grants_only<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "revoking a subject ends its grants and refuses grants authorized before";
    let e = store_err(CASE);
    let subject = fx.subject();
    let grant = fx.grant(subject.clone(), fx.now);
    let live = NewGrant { access: fx.access(&grant), refresh: None, grant };
    store.insert_grant(live.clone()).await.map_err(&e)?;
    store.revoke_subject(&subject, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.access_token(&live.access.hash).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a token of the revoked subject is still found"));
    }
    let before = fx.grant(subject.clone(), fx.now);
    let pending = NewGrant { access: fx.access(&before), refresh: None, grant: before };
    if store.insert_grant(pending).await.map_err(&e)? != InsertOutcome::GrantRevoked {
        return Err(fail(CASE, "a grant authorized at the revocation instant was inserted"));
    }
    let after = fx.grant(subject, fx.now + Duration::seconds(1));
    let fresh = NewGrant { access: fx.access(&after), refresh: None, grant: after };
    if store.insert_grant(fresh).await.map_err(&e)? != InsertOutcome::Inserted {
        return Err(fail(CASE, "a grant authorized after the revocation was refused"));
    }
    Ok(())
}

pub(super) async fn access_token_revocation_is_one_token<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "revoking an access token removes that token only";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new.clone()).await.map_err(&e)?;
    store.revoke_access_token(&new.access.hash).await.map_err(&e)?;
    store.revoke_access_token(&fx.hash()).await.map_err(&e)?;
    if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "the revoked access token is still found"));
    }
    if store.rotate_refresh(fx.rotation(&token, false)).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the grant's refresh token stopped working"));
    }
    Ok(())
}

pub(super) async fn concurrent_takes_of_one_code<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "concurrent takes of one code: exactly one is Taken";
    let e = store_err(CASE);
    let code = fx.code();
    store.insert_code(code.clone()).await.map_err(&e)?;
    let takes = join_all((0..contenders).map(|_| store.take_code(&code.hash))).await;
    let mut taken = 0;
    for take in takes {
        match take.map_err(&e)? {
            CodeTake::Taken(_) => taken += 1,
            CodeTake::AlreadyTaken(_) => {}
            CodeTake::NotFound => return Err(fail(CASE, "a contender did not find the code")),
        }
    }
    if taken == 1 { Ok(()) } else { Err(fail(CASE, format!("{taken} contenders took the code"))) }
}

pub(super) async fn concurrent_rotations_of_one_token<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "concurrent rotations of one token: exactly one succeeds, one token stays active";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotations: Vec<Rotation> = (0..contenders).map(|_| fx.rotation(&token, false)).collect();
    let hashes: Vec<TokenHash> = rotations.iter().map(|r| r.refresh.hash).collect();
    let outcomes = join_all(rotations.into_iter().map(|r| store.rotate_refresh(r))).await;
    let mut rotated = 0;
    for outcome in outcomes {
        if outcome.map_err(&e)? == RotateOutcome::Rotated {
            rotated += 1;
        }
    }
    if rotated != 1 {
        return Err(fail(CASE, format!("{rotated} rotations succeeded")));
    }
    let mut active = 0;
    for hash in hashes {
        if store.refresh_token(&hash).await.map_err(&e)?.is_some_and(|r| r.rotated_at.is_none()) {
            active += 1;
        }
    }
    if active == 1 { Ok(()) } else { Err(fail(CASE, format!("{active} new tokens are active"))) }
}

/// A boxed store future, so that different operations can race in one [`join_all`].
type Op<'s> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 's>>;

/// `contenders` grants each inserted while its own revocation runs: whichever lands first, no
/// token of a revoked grant may be live afterwards. A store whose insert checks for a
/// revocation without serializing with it (write skew) leaves tokens behind here.
pub(super) async fn concurrent_insert_and_revoke_grant<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "insert_grant racing revoke_grant: no token of the revoked grant stays live";
    let e = store_err(CASE);
    let grants: Vec<NewGrant> = (0..contenders).map(|_| fx.new_grant()).collect();
    let mut ops: Vec<Op<'_>> = Vec::new();
    for (i, new) in grants.iter().enumerate() {
        let insert: Op<'_> = Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) });
        let revoke: Op<'_> = Box::pin(store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)));
        // Alternate which one starts first.
        if i % 2 == 0 {
            ops.extend([insert, revoke]);
        } else {
            ops.extend([revoke, insert]);
        }
    }
    for outcome in join_all(ops).await {
        outcome.map_err(&e)?;
    }
    for new in &grants {
        let refresh = new.refresh.as_ref().map(|r| r.hash);
        if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
            return Err(fail(CASE, "an access token of a revoked grant is live"));
        }
        if let Some(hash) = refresh {
            if store.refresh_token(&hash).await.map_err(&e)?.is_some() {
                return Err(fail(CASE, "a refresh token of a revoked grant is live"));
            }
        }
    }
    Ok(())
}

/// Grants of one subject, authorized before the revocation instant, inserted while the subject
/// is revoked: none of their tokens may be live afterwards.
pub(super) async fn concurrent_insert_and_revoke_subject<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "insert_grant racing revoke_subject: no token of a grant authorized before stays live";
    let e = store_err(CASE);
    let subject = fx.subject();
    let grants: Vec<NewGrant> = (0..contenders)
        .map(|_| {
            let grant = fx.grant(subject.clone(), fx.now);
            NewGrant { access: fx.access(&grant), refresh: Some(fx.refresh(&grant)), grant }
        })
        .collect();
    let half = grants.len() / 2;
    let mut ops: Vec<Op<'_>> = Vec::new();
    for new in &grants[..half] {
        ops.push(Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) }));
    }
    ops.push(Box::pin(store.revoke_subject(&subject, fx.now, fx.now + Duration::days(31))));
    for new in &grants[half..] {
        ops.push(Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) }));
    }
    for outcome in join_all(ops).await {
        outcome.map_err(&e)?;
    }
    for new in &grants {
        if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
            return Err(fail(CASE, "an access token of the revoked subject is live"));
        }
        if let Some(refresh) = &new.refresh {
            if store.refresh_token(&refresh.hash).await.map_err(&e)?.is_some() {
                return Err(fail(CASE, "a refresh token of the revoked subject is live"));
            }
        }
    }
    Ok(())
}
