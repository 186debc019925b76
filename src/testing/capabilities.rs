//! The cases of the optional operations: run when a store declares the capability, and
//! otherwise the check that the undeclared operation fails closed.

use super::*;

/// A pending device request of a fresh client, living 10 minutes from the fixture's now.
fn device_request(fx: &Fixture) -> (TokenHash, DeviceRequest) {
    let client = ClientId::new(fx.name("tv")).unwrap_or_else(|_| ClientId::from_static("tv"));
    let request = DeviceRequest::new(
        client,
        fx.grant_id(),
        Scope::parse("read").unwrap_or_default(),
        vec![Resource::from_static("https://rs.example/api")],
        fx.hash(),
        fx.now,
        fx.now + Duration::minutes(10),
        5,
    );
    (fx.hash(), request)
}

fn approval(fx: &Fixture) -> DeviceState {
    DeviceState::Approved {
        subject: fx.subject(),
        scope: Scope::parse("read").unwrap_or_default(),
        resources: vec![Resource::from_static("https://rs.example/api")],
        approved_at: fx.now,
    }
}

pub(super) async fn device_requests_poll_decide_and_redeem_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "device requests: user-code lookup, slow_down, one decision, one redemption";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    let t = |s: i64| fx.now + Duration::seconds(s);
    if store.insert_device_request(&hash, request.clone(), t(0)).await.map_err(&e)? != DeviceInsert::Inserted {
        return Err(fail(CASE, "a fresh device request was not inserted"));
    }
    let (other_hash, mut twin) = device_request(fx);
    twin.user_code = request.user_code;
    if store.insert_device_request(&other_hash, twin, t(1)).await.map_err(&e)? != DeviceInsert::UserCodeInUse {
        return Err(fail(CASE, "a second live request took a user code in use"));
    }
    let mut same_digest = request.clone();
    same_digest.user_code = fx.hash();
    if store.insert_device_request(&hash, same_digest, t(1)).await.is_ok() {
        return Err(fail(CASE, "a second request under one device digest was accepted"));
    }
    match store.device_request_by_user_code(&request.user_code, t(1)).await.map_err(&e)? {
        Some((found, stored)) if found == hash && stored == request => {}
        other => return Err(fail(CASE, format!("the user code found {other:?}"))),
    }
    let other_client = ClientId::new(fx.name("intruder")).map_err(|_| fail(CASE, "fixture client id"))?;
    if store.poll_device_request(&hash, &other_client, t(2)).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "another client's poll found the request"));
    }
    match store.poll_device_request(&hash, &client, t(2)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Pending && r.last_polled_at == Some(t(2)) => {}
        other => return Err(fail(CASE, format!("a first poll gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(4)).await.map_err(&e)? {
        Some(DevicePoll::SlowDown(r)) if r.interval == 10 => {}
        other => return Err(fail(CASE, format!("a poll 2 s after the last gave {other:?}, not slow_down with 10 s"))),
    }
    match store.poll_device_request(&hash, &client, t(10)).await.map_err(&e)? {
        Some(DevicePoll::SlowDown(r)) if r.interval == 15 => {}
        other => return Err(fail(CASE, format!("a poll 6 s after the last (interval 10) gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(25)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Pending && r.interval == 15 => {}
        other => return Err(fail(CASE, format!("a poll after the interval gave {other:?}"))),
    }
    let approved = approval(fx);
    if store.decide_device_request(&hash, approved.clone(), t(26)).await.map_err(&e)? != DeviceDecided::Decided {
        return Err(fail(CASE, "a pending request was not approved"));
    }
    if store.decide_device_request(&hash, DeviceState::Denied, t(27)).await.map_err(&e)? != DeviceDecided::NotPending {
        return Err(fail(CASE, "a decided request took a second decision"));
    }
    match store.poll_device_request(&hash, &client, t(28)).await.map_err(&e)? {
        Some(DevicePoll::Redeemed(r)) if r.state == approved => {}
        other => return Err(fail(CASE, format!("polling the approved request gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(60)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Redeemed => {}
        other => return Err(fail(CASE, format!("polling a redeemed request gave {other:?}"))),
    }
    // Expired: not found by its user code, and no decision takes.
    let (late_hash, late) = device_request(fx);
    let expiry = late.expires_at;
    store.insert_device_request(&late_hash, late.clone(), t(0)).await.map_err(&e)?;
    if store.device_request_by_user_code(&late.user_code, expiry).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "an expired request was found by its user code"));
    }
    if store.decide_device_request(&late_hash, approval(fx), expiry).await.map_err(&e)? != DeviceDecided::NotPending {
        return Err(fail(CASE, "an expired request took a decision"));
    }
    Ok(())
}

pub(super) async fn concurrent_redemptions_of_one_device_code<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "concurrent polls of one approved device code redeem it once";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    store.insert_device_request(&hash, request, fx.now).await.map_err(&e)?;
    store.decide_device_request(&hash, approval(fx), fx.now).await.map_err(&e)?;
    let at = fx.now + Duration::seconds(30);
    let polls = join_all((0..contenders).map(|_| store.poll_device_request(&hash, &client, at))).await;
    let mut redeemed = 0;
    for poll in polls {
        if let Some(DevicePoll::Redeemed(_)) = poll.map_err(&e)? {
            redeemed += 1;
        }
    }
    if redeemed != 1 {
        return Err(fail(CASE, format!("{redeemed} of {contenders} racing polls redeemed one approval")));
    }
    Ok(())
}

pub(super) async fn concurrent_approvals_and_denials_of_one_device_request<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "concurrent approvals and denials of one device request: one decision";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    store.insert_device_request(&hash, request, fx.now).await.map_err(&e)?;
    let decisions: Vec<DeviceState> =
        (0..contenders).map(|i| if i % 2 == 0 { approval(fx) } else { DeviceState::Denied }).collect();
    let outcomes =
        join_all(decisions.iter().map(|decision| store.decide_device_request(&hash, decision.clone(), fx.now))).await;
    let winners: Vec<usize> = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, outcome)| matches!(outcome, Ok(DeviceDecided::Decided)).then_some(i))
        .collect();
    let [winner] = winners.as_slice() else {
        return Err(fail(CASE, format!("{} of {contenders} racing decisions were recorded", winners.len())));
    };
    let polled = store.poll_device_request(&hash, &client, fx.now + Duration::seconds(1)).await.map_err(&e)?;
    let consistent = match (&decisions[*winner], polled) {
        (DeviceState::Denied, Some(DevicePoll::Current(r))) => r.state == DeviceState::Denied,
        (approved, Some(DevicePoll::Redeemed(r))) => r.state == *approved,
        _ => false,
    };
    if !consistent {
        return Err(fail(CASE, "the request does not carry the one decision that was recorded"));
    }
    Ok(())
}

/// A store that does not declare device requests must refuse them.
pub(super) async fn undeclared_device_requests_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared device requests fail closed";
    let (hash, request) = device_request(fx);
    match store.insert_device_request(&hash, request, fx.now).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring DEVICE_REQUESTS"))),
    }
}

/// A client as dynamic registration makes one, under a fresh id.
fn registered_client(fx: &Fixture, redirect: &str) -> Result<crate::client::Client, crate::client::RegistrationError> {
    let display = crate::client::ClientDisplay { client_name: Some("Conformance client".into()), ..Default::default() };
    crate::client::Client::public(fx.name("registered"))
        .redirect_uri(redirect)
        .scope("read")
        .resource("https://rs.example/api")
        .display(display)
        .build()
}

pub(super) async fn registered_clients_are_kept_and_never_overwritten<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "registered clients: kept as registered, never overwritten";
    let e = store_err(CASE);
    let client = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    store.register_client(&client, fx.now).await.map_err(&e)?;
    if store.client(client.id()).await.map_err(&e)?.as_ref() != Some(&client) {
        return Err(fail(CASE, "a registered client did not read back as registered"));
    }
    // Registrations racing under one id (the same random id drawn twice): one wins, and the
    // stored client is the winner's, whole.
    let contender = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    let rivals: Vec<crate::client::Client> = (0..contenders)
        .map(|i| {
            crate::client::Client::public(contender.id().as_str())
                .redirect_uri(format!("https://client{i}.example/cb"))
                .build()
        })
        .collect::<Result<_, _>>()
        .map_err(|_| fail(CASE, "fixture client"))?;
    let results = join_all(rivals.iter().map(|rival| store.register_client(rival, fx.now))).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    let [winner] = winners.as_slice() else {
        return Err(fail(CASE, format!("{} of {contenders} racing registrations of one id succeeded", winners.len())));
    };
    if store.client(contender.id()).await.map_err(&e)?.as_ref() != Some(&rivals[*winner]) {
        return Err(fail(CASE, "the stored client is not the one registration that succeeded"));
    }
    if store.register_client(&contender, fx.now).await.is_ok() {
        return Err(fail(CASE, "a registration replaced an existing client"));
    }
    if store.client(client.id()).await.map_err(&e)?.as_ref() != Some(&client) {
        return Err(fail(CASE, "a refused registration changed another client"));
    }
    Ok(())
}

/// A store that does not declare registration must refuse it, not pretend to keep the client.
pub(super) async fn undeclared_registration_fails_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared client registration fails closed";
    let client = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    match store.register_client(&client, fx.now).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring CLIENT_REGISTRATION"))),
    }
}

/// A declared [`Store::claim_once`]: one claim per key while it lasts, however many race; an
/// ended claim can be taken again; different keys are independent.
pub(super) async fn claims_are_single_use<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "claim_once: one claim per key while it lasts";
    let e = store_err(CASE);
    let key = fx.hash();
    let until = fx.now + Duration::seconds(60);
    let outcomes = join_all((0..contenders).map(|_| store.claim_once(&key, fx.now, until))).await;
    let mut claimed = 0;
    for outcome in outcomes {
        if outcome.map_err(&e)? == ClaimOutcome::Claimed {
            claimed += 1;
        }
    }
    if claimed != 1 {
        return Err(fail(CASE, format!("{claimed} contenders claimed one key")));
    }
    if store.claim_once(&key, fx.now + Duration::seconds(59), until).await.map_err(&e)? != ClaimOutcome::AlreadyClaimed
    {
        return Err(fail(CASE, "a key was claimed twice while its claim lasted"));
    }
    if store.claim_once(&fx.hash(), fx.now, until).await.map_err(&e)? != ClaimOutcome::Claimed {
        return Err(fail(CASE, "another key was refused"));
    }
    Ok(())
}

/// Declared pushed requests: read back as stored, more than once, and each under its own
/// digest; a second insert under a digest in use fails and leaves the first intact.
pub(super) async fn pushed_requests_are_kept_and_never_overwritten<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "pushed requests: kept as stored, never overwritten";
    let e = store_err(CASE);
    let (hash, other) = (fx.hash(), fx.hash());
    let client = ClientId::new(fx.name("par-client")).map_err(|_| fail(CASE, "fixture client id"))?;
    let params = vec![("response_type".to_owned(), "code".to_owned()), ("state".to_owned(), fx.name("s"))];
    let request = PushedRequest::new(client, params, fx.now + Duration::seconds(60));
    let until = fx.now + Duration::seconds(600);
    store.insert_pushed_request(&hash, request.clone(), fx.now, until).await.map_err(&e)?;
    for _ in 0..2 {
        if store.pushed_request(&hash, fx.now + Duration::seconds(1)).await.map_err(&e)?.as_ref() != Some(&request) {
            return Err(fail(CASE, "a stored pushed request did not read back as stored"));
        }
    }
    let mut intruder = request.clone();
    intruder.params.push(("scope".to_owned(), "admin".to_owned()));
    if store.insert_pushed_request(&hash, intruder, fx.now, until).await.is_ok() {
        return Err(fail(CASE, "a second pushed request under one digest was accepted"));
    }
    if store.pushed_request(&hash, fx.now).await.map_err(&e)?.as_ref() != Some(&request) {
        return Err(fail(CASE, "a refused insert changed the stored pushed request"));
    }
    if store.pushed_request(&other, fx.now).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a digest never stored found a pushed request"));
    }
    Ok(())
}

/// A store that does not declare pushed requests must refuse them, not pretend to keep them.
pub(super) async fn undeclared_pushed_requests_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared pushed requests fail closed";
    let client = ClientId::new(fx.name("par-client")).map_err(|_| fail(CASE, "fixture client id"))?;
    let request = PushedRequest::new(client, Vec::new(), fx.now + Duration::seconds(60));
    match store.insert_pushed_request(&fx.hash(), request, fx.now, fx.now + Duration::seconds(60)).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring PUSHED_REQUESTS"))),
    }
}

/// A store that does not declare claims must refuse them, never report a claim it did not make.
pub(super) async fn undeclared_claims_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "an undeclared claim_once fails closed";
    match store.claim_once(&fx.hash(), fx.now, fx.now + Duration::seconds(60)).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring SINGLE_USE_CLAIMS"))),
    }
}
