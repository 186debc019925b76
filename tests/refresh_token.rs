//! The refresh_token grant: rotation, reuse detection, expiry, scope rules, revocation by grant
//! and subject, the grace window, and the security events (RT-01..RT-09).

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::hooks::SecurityEvent;
use oauth21::store::Store;
use oauth21::{
    AccessToken, Client, ClientSecret, Clock, GrantId, GrantType, RefreshToken, Response, ServerConfig, Subject,
};
use time::Duration;

fn assert_refused(response: &Response, error: &str) {
    assert_eq!(response.status(), 400);
    assert_eq!(json(response)["error"], error);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
}

fn pair(response: &Response) -> (String, Option<String>) {
    assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    let body = json(response);
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().map(str::to_owned))
}

fn access_live(fx: &Fixture, access: &str) -> bool {
    block_on(fx.store.access_token(&AccessToken::new(access).hash())).unwrap().is_some()
}

fn grant_of(fx: &Fixture, refresh: &str) -> GrantId {
    block_on(fx.store.refresh_token(&RefreshToken::new(refresh).hash())).unwrap().unwrap().grant_id
}

/// A confidential client `web` that may refresh, replacing the fixture's.
fn register_refreshing_web(fx: &Fixture) {
    fx.store.insert_client(
        Client::confidential("web", &ClientSecret::new(WEB_SECRET))
            .allow_short_secrets()
            .redirect_uri("https://web.example/cb")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .build()
            .unwrap(),
    );
}

fn web_tokens(fx: &Fixture) -> (String, String) {
    let code = fx.code(&web_query(""));
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_verifier={VERIFIER}"
    );
    let (access, refresh) = pair(&fx.token(&body, Some(&basic_auth_header("web", WEB_SECRET))));
    (access, refresh.unwrap())
}

fn web_refresh(fx: &Fixture, refresh: &str) -> Response {
    fx.token(&format!("grant_type=refresh_token&refresh_token={refresh}"), Some(&basic_auth_header("web", WEB_SECRET)))
}

// ---- RT-01 ----

#[test]
fn rt01_refresh_token_is_required() {
    let fx = fixture();
    assert_refused(&fx.token("grant_type=refresh_token&client_id=app", None), "invalid_request");
    assert_refused(&fx.token("grant_type=refresh_token&client_id=app&refresh_token=", None), "invalid_request");
}

// ---- RT-02 ----

#[test]
fn rt02_refresh_token_of_another_client_is_refused_and_revokes_nothing() {
    let fx = fixture();
    register_refreshing_web(&fx);
    let (access, refresh) = fx.app_tokens();
    assert_refused(&web_refresh(&fx, &refresh), "invalid_grant");
    // The token is untouched: its own client can still use it.
    assert!(access_live(&fx, &access));
    assert_eq!(fx.refresh(&refresh, "").status(), 200);
}

#[test]
fn rt02_confidential_client_must_authenticate_to_refresh() {
    let fx = fixture();
    register_refreshing_web(&fx);
    let (_, refresh) = web_tokens(&fx);
    let r = fx.token(&format!("grant_type=refresh_token&client_id=web&refresh_token={refresh}"), None);
    assert_eq!(r.status(), 400);
    assert_eq!(json(&r)["error"], "invalid_client");
    let r = fx
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"), Some(&basic_auth_header("web", "wrong")));
    assert_eq!(r.status(), 401);
    assert_eq!(web_refresh(&fx, &refresh).status(), 200);
}

// ---- RT-03 ----

#[test]
fn rt03_unknown_refresh_token_is_invalid_grant() {
    let fx = fixture();
    assert_refused(&fx.refresh(&"A".repeat(43), ""), "invalid_grant");
}

#[test]
fn rt03_old_token_is_refused_after_rotation() {
    let fx = fixture();
    let (_, first) = fx.app_tokens();
    let (_, second) = pair(&fx.refresh(&first, ""));
    let second = second.unwrap();
    assert_ne!(first, second);
    fx.clock.advance(Duration::seconds(1));
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
}

#[test]
fn rt03_token_of_a_revoked_grant_is_refused() {
    let fx = fixture();
    let (access, refresh) = fx.app_tokens();
    block_on(fx.server.revoke_grant(&grant_of(&fx, &refresh))).unwrap();
    assert_refused(&fx.refresh(&refresh, ""), "invalid_grant");
    assert!(!access_live(&fx, &access));
}

// ---- RT-04 / RT-05 ----

#[test]
fn rt04_scope_may_be_narrowed() {
    let fx = fixture();
    let (_, refresh) = fx.app_tokens();
    let r = fx.refresh(&refresh, "&scope=read");
    assert_eq!(json(&r)["scope"], "read");
    let (access, _) = pair(&r);
    let record = block_on(fx.store.access_token(&AccessToken::new(access).hash())).unwrap().unwrap();
    assert_eq!(record.scope.to_string(), "read");
}

#[test]
fn rt04_scope_may_not_be_widened() {
    let fx = fixture();
    let code = fx.code(&app_query("&scope=read"));
    let (_, refresh) = pair(&fx.token(&app_redeem_body(&code), None));
    let refresh = refresh.unwrap();
    assert_refused(&fx.refresh(&refresh, "&scope=read%20write"), "invalid_scope");
    assert_refused(&fx.refresh(&refresh, "&scope=admin"), "invalid_scope");
    assert_refused(&fx.refresh(&refresh, "&scope=read%20%20write"), "invalid_scope");
    // A refused scope does not consume the token.
    assert_eq!(fx.refresh(&refresh, "").status(), 200);
}

#[test]
fn rt04_omitted_scope_is_the_original_grant() {
    let fx = fixture();
    let (_, refresh) = fx.app_tokens();
    assert_eq!(json(&fx.refresh(&refresh, ""))["scope"], "read write");
}

#[test]
fn rt05_new_refresh_token_keeps_the_whole_grant_after_narrowing() {
    let fx = fixture();
    let (_, refresh) = fx.app_tokens();
    let (_, narrowed) = pair(&fx.refresh(&refresh, "&scope=read"));
    let narrowed = narrowed.unwrap();
    let record = block_on(fx.store.refresh_token(&RefreshToken::new(&narrowed).hash())).unwrap().unwrap();
    assert_eq!(record.scope.to_string(), "read write");
    assert_eq!(json(&fx.refresh(&narrowed, ""))["scope"], "read write");
}

// ---- RT-06 ----

#[test]
fn rt06_public_client_gets_a_new_refresh_token_on_every_refresh() {
    let fx = fixture();
    let (_, mut refresh) = fx.app_tokens();
    let mut seen = vec![refresh.clone()];
    for _ in 0..5 {
        fx.clock.advance(Duration::minutes(10));
        let (_, next) = pair(&fx.refresh(&refresh, ""));
        refresh = next.expect("a rotated refresh token");
        assert!(!seen.contains(&refresh));
        seen.push(refresh.clone());
    }
    assert_eq!(fx.store.active_refresh_tokens(&grant_of(&fx, &refresh)).len(), 1);
}

#[test]
fn rt06_public_clients_rotate_even_when_confidential_rotation_is_off() {
    let config = ServerConfig::builder(ISSUER).keep_confidential_refresh_tokens().build().unwrap();
    let fx = fixture_with(config);
    let (_, refresh) = fx.app_tokens();
    assert!(pair(&fx.refresh(&refresh, "")).1.is_some());
}

#[test]
fn rt06_confidential_client_may_keep_its_refresh_token_when_configured() {
    let config = ServerConfig::builder(ISSUER).keep_confidential_refresh_tokens().build().unwrap();
    let fx = fixture_with(config);
    register_refreshing_web(&fx);
    let (_, refresh) = web_tokens(&fx);
    for _ in 0..3 {
        // 9 days apart: two gaps exceed the 14-day idle timeout, so each use must slide it.
        fx.clock.advance(Duration::days(9));
        let (_, next) = pair(&web_refresh(&fx, &refresh));
        assert_eq!(next, None, "the kept token is not sent again");
    }
    // The absolute lifetime still ends it: 30 days after the first token response.
    fx.clock.advance(Duration::days(3));
    assert_refused(&web_refresh(&fx, &refresh), "invalid_grant");
}

#[test]
fn rt06_confidential_client_rotates_by_default() {
    let fx = fixture();
    register_refreshing_web(&fx);
    let (_, refresh) = web_tokens(&fx);
    let (_, next) = pair(&web_refresh(&fx, &refresh));
    assert!(next.is_some_and(|n| n != refresh));
}

// ---- RT-07 ----

#[test]
fn rt07_reuse_revokes_the_new_token_and_every_access_token_of_the_grant() {
    let fx = fixture();
    let (first_access, first) = fx.app_tokens();
    let (second_access, second) = pair(&fx.refresh(&first, ""));
    let second = second.unwrap();
    let grant = grant_of(&fx, &second);

    fx.clock.advance(Duration::seconds(30));
    // The thief (or the client) presents the rotated-out token: the family dies.
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
    assert!(!access_live(&fx, &first_access));
    assert!(!access_live(&fx, &second_access));
    assert!(fx.store.active_refresh_tokens(&grant).is_empty());
    assert_refused(&fx.refresh(&second, ""), "invalid_grant");
}

#[test]
fn rt07_replay_after_the_grant_expired_is_still_refused() {
    let fx = fixture();
    let (_, first) = fx.app_tokens();
    pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::days(40));
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
}

#[test]
fn rt07_replay_is_reported_as_a_security_event() {
    let fx = fixture();
    let (_, first) = fx.app_tokens();
    pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::seconds(5));
    fx.refresh(&first, "");
    let events = fx.events.take();
    let grant = matches!(&events[..], [SecurityEvent::RefreshTokenReplay { client_id, subject, .. }]
        if client_id.as_str() == "app" && subject.as_str() == "alice");
    assert!(grant, "{events:?}");
    assert!(!format!("{events:?}").contains(&first), "no secret in events");
}

#[test]
fn ac04_code_replay_is_reported_as_a_security_event() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    pair(&fx.token(&app_redeem_body(&code), None));
    fx.token(&app_redeem_body(&code), None);
    let events = fx.events.take();
    assert!(matches!(&events[..], [SecurityEvent::CodeReplay { client_id, .. }] if client_id.as_str() == "app"));
    assert!(!format!("{events:?}").contains(&code));
}

#[test]
fn tk06_client_authentication_failures_are_reported_without_secrets() {
    let fx = fixture();
    fx.token("grant_type=authorization_code&code=x", Some(&basic_auth_header("web", "guess-1")));
    fx.token("grant_type=authorization_code&code=x&client_id=web&client_secret=guess-2", None);
    fx.token("grant_type=authorization_code&code=x", Some("Basic !!!"));
    let events = fx.events.take();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[0], SecurityEvent::ClientAuthenticationFailed { client_id: Some(id), reason: oauth21::client::AuthFailure::WrongSecret } if id.as_str() == "web")
    );
    assert!(matches!(
        &events[2],
        SecurityEvent::ClientAuthenticationFailed {
            client_id: None,
            reason: oauth21::client::AuthFailure::MalformedHeader
        }
    ));
    let text = format!("{events:?}");
    assert!(!text.contains("guess-1") && !text.contains("guess-2"));
}

// ---- RT-08 ----

#[test]
fn rt08_refresh_tokens_are_256_bit_random_and_stored_only_as_digests() {
    let fx = fixture();
    let (_, refresh) = fx.app_tokens();
    assert_eq!(refresh.len(), 43);
    let record = block_on(fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap().unwrap();
    assert!(!serde_json::to_string(&record).unwrap().contains(&refresh));
    // One changed character is a different, unknown token.
    let mut forged = refresh.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    assert_refused(&fx.refresh(&String::from_utf8(forged).unwrap(), ""), "invalid_grant");
}

// ---- RT-09 ----

#[test]
fn rt09_idle_refresh_token_expires() {
    let fx = fixture();
    let (_, refresh) = fx.app_tokens();
    fx.clock.advance(Duration::days(14));
    assert_refused(&fx.refresh(&refresh, ""), "invalid_grant");
}

#[test]
fn rt09_use_within_the_idle_timeout_keeps_the_grant_alive_until_its_absolute_end() {
    let fx = fixture();
    let (_, mut refresh) = fx.app_tokens();
    for _ in 0..3 {
        fx.clock.advance(Duration::days(9));
        refresh = pair(&fx.refresh(&refresh, "")).1.unwrap();
    }
    // Day 27: still alive. Day 30: the absolute lifetime ends it, however recently used.
    fx.clock.advance(Duration::days(3));
    assert_refused(&fx.refresh(&refresh, ""), "invalid_grant");
}

/// An access token minted by a refresh shortly before the grant's absolute end: it ends with
/// the grant, so the grant's index entries (kept until the grant ends) always reach it, and a
/// purge after the grant's end leaves no live token that revocation can no longer find.
#[test]
fn rt09_access_tokens_never_outlive_their_grant_so_log_out_everywhere_reaches_them() {
    let fx = fixture();
    let (_, mut refresh) = fx.app_tokens();
    for _ in 0..3 {
        fx.clock.advance(Duration::days(9));
        refresh = pair(&fx.refresh(&refresh, "")).1.unwrap();
    }
    // Day 29, 23:30: half an hour of the grant is left, less than an access token's hour.
    fx.clock.advance(Duration::days(2) + Duration::hours(23) + Duration::minutes(30));
    let late = fx.refresh(&refresh, "");
    assert_eq!(json(&late)["expires_in"], 1800, "cut at the grant's end");
    let (late_access, late_refresh) = pair(&late);
    let record = block_on(fx.store.access_token(&AccessToken::new(&late_access).hash())).unwrap().unwrap();
    let grant_end = block_on(fx.store.refresh_token(&RefreshToken::new(late_refresh.as_ref().unwrap()).hash()))
        .unwrap()
        .unwrap()
        .grant_expires_at;
    assert_eq!(record.expires_at, grant_end);

    // Past the grant's end the store may drop the family; the token is over by then as well.
    fx.clock.advance(Duration::minutes(31));
    fx.store.purge_expired(fx.clock.now());
    assert!(!access_live(&fx, &late_access));

    // Before the end, "log out everywhere" reaches such a token.
    let (_, mut refresh) = fx.app_tokens();
    for _ in 0..3 {
        fx.clock.advance(Duration::days(9));
        refresh = pair(&fx.refresh(&refresh, "")).1.unwrap();
    }
    fx.clock.advance(Duration::days(2) + Duration::hours(23) + Duration::minutes(50));
    let (access, _) = pair(&fx.refresh(&refresh, ""));
    block_on(fx.server.revoke_subject(&Subject::new("alice").unwrap())).unwrap();
    assert!(!access_live(&fx, &access));
}

#[test]
fn rt09_revoke_subject_ends_every_grant_and_pending_code() {
    let fx = fixture();
    let (access_a, refresh_a) = fx.app_tokens();
    let (access_b, refresh_b) = fx.app_tokens();
    let pending = fx.code(&app_query(""));
    block_on(fx.server.revoke_subject(&Subject::new("alice").unwrap())).unwrap();
    for (access, refresh) in [(&access_a, &refresh_a), (&access_b, &refresh_b)] {
        assert!(!access_live(&fx, access));
        assert_refused(&fx.refresh(refresh, ""), "invalid_grant");
    }
    // The code was issued before the revocation: redeeming it issues nothing.
    assert_refused(&fx.token(&app_redeem_body(&pending), None), "invalid_grant");
    // A new authorization after the revocation works.
    fx.clock.advance(Duration::seconds(1));
    let (access, _) = fx.app_tokens();
    assert!(access_live(&fx, &access));
}

#[test]
fn rt09_revoke_grant_leaves_other_grants_alone() {
    let fx = fixture();
    let (_, refresh_a) = fx.app_tokens();
    let (access_b, refresh_b) = fx.app_tokens();
    block_on(fx.server.revoke_grant(&grant_of(&fx, &refresh_a))).unwrap();
    assert!(access_live(&fx, &access_b));
    assert_eq!(fx.refresh(&refresh_b, "").status(), 200);
}

// ---- Grace window ----

#[test]
fn rt07_grace_window_off_by_default_so_an_immediate_retry_revokes() {
    let fx = fixture();
    let (_, first) = fx.app_tokens();
    let (_, second) = pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::seconds(1));
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
    assert_refused(&fx.refresh(&second.unwrap(), ""), "invalid_grant");
}

#[test]
fn rt07_grace_window_allows_one_retry_of_the_previous_token() {
    let config = ServerConfig::builder(ISSUER).refresh_grace_period(Duration::seconds(10)).build().unwrap();
    let fx = fixture_with(config);
    let (_, first) = fx.app_tokens();
    // The response carrying `lost` never reached the client.
    let (lost_access, lost) = pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::seconds(3));
    let (_, retried) = pair(&fx.refresh(&first, ""));
    let retried = retried.unwrap();
    // The retry rotated out the lost pair's refresh token; its access token lives on until it
    // expires (it was issued to the same client and grant).
    assert!(access_live(&fx, &lost_access));
    let grant = grant_of(&fx, &retried);
    assert_eq!(fx.store.active_refresh_tokens(&grant), vec![RefreshToken::new(&retried).hash()]);
    // A second retry of the same token is a replay and revokes the family.
    fx.clock.advance(Duration::seconds(1));
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
    assert_refused(&fx.refresh(&retried, ""), "invalid_grant");
    assert_refused(&fx.refresh(&lost.unwrap(), ""), "invalid_grant");
}

#[test]
fn rt07_grace_window_ends_after_its_period() {
    let config = ServerConfig::builder(ISSUER).refresh_grace_period(Duration::seconds(10)).build().unwrap();
    let fx = fixture_with(config);
    let (_, first) = fx.app_tokens();
    let (_, second) = pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::seconds(10));
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
    assert_refused(&fx.refresh(&second.unwrap(), ""), "invalid_grant");
}

#[test]
fn rt07_grace_window_does_not_cover_older_tokens() {
    let config = ServerConfig::builder(ISSUER).refresh_grace_period(Duration::seconds(30)).build().unwrap();
    let fx = fixture_with(config);
    let (_, first) = fx.app_tokens();
    let (_, second) = pair(&fx.refresh(&first, ""));
    fx.clock.advance(Duration::seconds(1));
    let (_, third) = pair(&fx.refresh(&second.unwrap(), ""));
    fx.clock.advance(Duration::seconds(1));
    // `first` is two rotations back: a replay, even inside the period.
    assert_refused(&fx.refresh(&first, ""), "invalid_grant");
    assert_refused(&fx.refresh(&third.unwrap(), ""), "invalid_grant");
}
