//! Model-based tests of refresh-token families (RT-03, RT-07, RT-09): random sequences of
//! refreshes (of the active token, of rotated-out ones, of unknown strings), grant and subject
//! revocations, new grants and clock moves, run against the server and, step by step, against
//! a small reference model of each family.
//!
//! After every step the response must be what the model predicts, the security events must be
//! exactly the predicted replays, and the store must hold exactly the model's live tokens: one
//! active refresh token per live family, none for a revoked one, every access token of a live
//! family and none of a revoked one. Independently of the model, a refresh token once refused,
//! rotated out or revoked must never be answered with 200 again.

mod common;

use std::collections::HashSet;

use common::*;
use oauth21::store::Store;
use oauth21::{AccessToken, Clock, GrantId, RefreshToken, Response, SecurityEvent, Subject};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use time::{Duration, OffsetDateTime};

/// Families a sequence may create in all (1..=3 at the start, more through `NewFamily`).
const MAX_FAMILIES: usize = 6;
const DAY: i64 = 24 * 60 * 60;

/// Which token a refresh presents.
#[derive(Debug, Clone)]
enum Which {
    /// The family's active refresh token (after a revocation: the one that was active).
    Active,
    /// Any refresh token ever issued to the family, active or rotated out (index modulo).
    Issued(usize),
    /// One of the family's access tokens, presented as a refresh token.
    AccessToken(usize),
    /// A string the server never issued.
    Garbage(String),
}

#[derive(Debug, Clone)]
enum Op {
    /// Refresh as `app`. `family` is taken modulo the number of families, or of the live ones
    /// when `live` (and any is live), so that sequences do not spend most steps on dead ones.
    Refresh { family: usize, live: bool, which: Which },
    /// `Server::revoke_grant` of the family (modulo).
    RevokeGrant(usize),
    /// `Server::revoke_subject(alice)`: every family is alice's, so it revokes them all.
    RevokeSubject,
    /// A new code flow, while fewer than `MAX_FAMILIES` families exist.
    NewFamily,
    /// Moves the clock forward this many seconds.
    Advance(i64),
    /// Moves the clock forward this many seconds, then refreshes every live family's active
    /// token: a client that keeps its grant alive, so sequences reach the absolute end.
    KeepAlive(i64),
    /// Moves the clock to `offset` seconds from a live family's absolute end (if that is
    /// ahead), then refreshes its active token: pins the boundary of the absolute expiry.
    AtGrantEnd { family: usize, offset: i64 },
}

/// One grant as the model sees it. Times are seconds since the fixture's start.
#[derive(Debug)]
struct Family {
    grant_id: GrantId,
    revoked: bool,
    /// The grant's absolute end: first token response + refresh_token_lifetime.
    grant_end: i64,
    /// The active refresh token and when it expires: its idle timeout or the grant's end.
    active: (String, i64),
    /// Rotated-out refresh tokens and when each was rotated out, oldest first.
    rotated: Vec<(String, i64)>,
    access: Vec<String>,
}

impl Family {
    fn refresh_tokens(&self) -> impl Iterator<Item = &String> {
        self.rotated.iter().map(|(t, _)| t).chain([&self.active.0])
    }
}

/// What the model says a refresh of some token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200; the family (index) rotates to a new token.
    Rotated(usize),
    /// 400 invalid_grant, nothing changes: unknown, revoked, expired, or rotated out at this
    /// very instant (a lost race, which revokes nothing).
    Refused,
    /// 400 invalid_grant, and the family (index) is revoked with a replay event (RT-07).
    Replay(usize),
}

struct Model {
    now: i64,
    idle: i64,
    lifetime: i64,
    families: Vec<Family>,
    /// The latest `revoke_subject` time: codes approved at or before it are never redeemed.
    subject_revoked_at: Option<i64>,
}

impl Model {
    fn expect_refresh(&self, token: &str) -> Expect {
        // A revoked family's tokens are gone from the store: unknown, so refused, no event.
        for (i, family) in self.families.iter().enumerate().filter(|(_, f)| !f.revoked) {
            if family.active.0 == token {
                // Refused only once expired: idle timeout or the grant's end, whichever is first.
                return if self.now < family.active.1 { Expect::Rotated(i) } else { Expect::Refused };
            }
            if let Some(&(_, at)) = family.rotated.iter().find(|(t, _)| t == token) {
                // Rotated out at the request's own instant: the request may have begun before
                // the rotation (a lost race), refused without revoking. Any later presentation
                // is a replay, even past the token's expiry (the server classifies before it
                // checks expiry).
                return if at < self.now { Expect::Replay(i) } else { Expect::Refused };
            }
        }
        Expect::Refused
    }
}

struct Run {
    fx: Fixture,
    start: OffsetDateTime,
    model: Model,
    /// Advance the clock one second before every operation, so no presentation is ever at the
    /// instant of a rotation (no lost races, only replays).
    tick: bool,
    /// Every refresh token the server refused, rotated out, or revoked (observed, not
    /// predicted), in the order they died: none may ever be answered with 200 again (RT-03).
    dead_refresh: Vec<String>,
    /// Every access token of a revoked family: none may ever be in the store again.
    dead_access: HashSet<String>,
    /// Every refresh token issued, to check each new one is fresh.
    issued_refresh: HashSet<String>,
}

fn mark_dead(dead: &mut Vec<String>, token: &str) {
    if !dead.iter().any(|t| t == token) {
        dead.push(token.to_owned());
    }
}

fn alice() -> Subject {
    Subject::new("alice").unwrap()
}

fn check_refused(response: &Response) -> Result<(), TestCaseError> {
    prop_assert_eq!(response.status(), 400, "{}", String::from_utf8_lossy(response.body()));
    prop_assert_eq!(&json(response)["error"], "invalid_grant");
    Ok(())
}

fn strings(response: &Response, a: &str, b: &str) -> Result<(String, String), TestCaseError> {
    prop_assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    let body = json(response);
    let field = |name: &str| body[name].as_str().map(str::to_owned);
    match (field(a), field(b)) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(TestCaseError::fail(format!("missing {a} or {b} in {body}"))),
    }
}

impl Run {
    fn new(initial_families: usize, tick: bool) -> Result<Self, TestCaseError> {
        let fx = fixture();
        let config = fx.server.config();
        let model = Model {
            now: 0,
            idle: config.refresh_token_idle_timeout().map_or(i64::MAX / 2, |d| d.whole_seconds()),
            lifetime: config.refresh_token_lifetime().whole_seconds(),
            families: Vec::new(),
            subject_revoked_at: None,
        };
        let start = fx.clock.now();
        let mut run = Self {
            fx,
            start,
            model,
            tick,
            dead_refresh: Vec::new(),
            dead_access: HashSet::new(),
            issued_refresh: HashSet::new(),
        };
        for _ in 0..initial_families {
            run.new_family()?;
        }
        run.check_store()?;
        Ok(run)
    }

    fn at(&self, t: i64) -> OffsetDateTime {
        self.start + Duration::seconds(t)
    }

    fn advance(&mut self, seconds: i64) {
        self.fx.clock.advance(Duration::seconds(seconds));
        self.model.now += seconds;
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        if self.tick {
            self.advance(1);
        }
        let mut replayed = None;
        let n = self.model.families.len();
        match op {
            Op::Advance(seconds) => self.advance(*seconds),
            Op::KeepAlive(seconds) => {
                self.advance(*seconds);
                for i in 0..n {
                    if !self.model.families[i].revoked {
                        let token = self.model.families[i].active.0.clone();
                        self.present(&token)?;
                    }
                }
            }
            Op::NewFamily if n < MAX_FAMILIES => self.new_family()?,
            Op::NewFamily => {}
            Op::AtGrantEnd { family, offset } => {
                let live_ones: Vec<usize> = (0..n).filter(|&i| !self.model.families[i].revoked).collect();
                if !live_ones.is_empty() {
                    let family = &self.model.families[live_ones[family % live_ones.len()]];
                    let token = family.active.0.clone();
                    let to = family.grant_end + offset;
                    if to > self.model.now {
                        self.advance(to - self.model.now);
                    }
                    self.present(&token)?;
                }
            }
            Op::RevokeGrant(family) => {
                let i = family % n;
                block_on(self.fx.server.revoke_grant(&self.model.families[i].grant_id)).unwrap();
                self.revoke(i);
            }
            Op::RevokeSubject => {
                block_on(self.fx.server.revoke_subject(&alice())).unwrap();
                (0..n).for_each(|i| self.revoke(i));
                self.model.subject_revoked_at = Some(self.model.now);
            }
            Op::Refresh { family, live, which } => {
                let live_ones: Vec<usize> = (0..n).filter(|&i| !self.model.families[i].revoked).collect();
                let i = if *live && !live_ones.is_empty() { live_ones[family % live_ones.len()] } else { family % n };
                let token = self.pick(i, which);
                replayed = self.refresh(&token)?;
            }
        }
        self.check_after(replayed)
    }

    /// Presents `token` and checks the outcome like any step.
    fn present(&mut self, token: &str) -> Result<(), TestCaseError> {
        let replayed = self.refresh(token)?;
        self.check_after(replayed)
    }

    fn check_after(&mut self, replayed: Option<GrantId>) -> Result<(), TestCaseError> {
        // Exactly one replay event per predicted replay, naming the revoked grant; none else.
        let events = self.fx.events.take();
        match replayed {
            None => prop_assert!(events.is_empty(), "unexpected events {:?}", events),
            Some(grant) => prop_assert!(
                matches!(&events[..], [SecurityEvent::RefreshTokenReplay { grant_id, .. }] if *grant_id == grant),
                "expected one replay event for {:?}, got {:?}",
                grant,
                events
            ),
        }
        prop_assert_eq!(self.fx.clock.now(), self.at(self.model.now));
        self.check_store()
    }

    fn pick(&self, i: usize, which: &Which) -> String {
        let family = &self.model.families[i];
        match which {
            Which::Active => family.active.0.clone(),
            Which::Issued(k) => {
                let all: Vec<&String> = family.refresh_tokens().collect();
                all[k % all.len()].clone()
            }
            Which::AccessToken(k) => family.access[k % family.access.len()].clone(),
            Which::Garbage(s) => s.clone(),
        }
    }

    /// Runs a code flow; the model expects it to fail only when the subject was revoked at
    /// this very instant (the code's approval is not after the revocation).
    fn new_family(&mut self) -> Result<(), TestCaseError> {
        let code = self.fx.code(&app_query("&scope=read%20write"));
        let response = self.fx.token(&app_redeem_body(&code), None);
        if self.model.subject_revoked_at.is_some_and(|at| at >= self.model.now) {
            return check_refused(&response);
        }
        let (access, refresh) = strings(&response, "access_token", "refresh_token")?;
        prop_assert!(self.issued_refresh.insert(refresh.clone()), "refresh token issued twice");
        let record = block_on(self.fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap();
        let grant_id = record.ok_or_else(|| TestCaseError::fail("new refresh token not stored"))?.grant_id;
        let now = self.model.now;
        let grant_end = now + self.model.lifetime;
        self.model.families.push(Family {
            grant_id,
            revoked: false,
            grant_end,
            active: (refresh, (now + self.model.idle).min(grant_end)),
            rotated: Vec::new(),
            access: vec![access],
        });
        Ok(())
    }

    fn revoke(&mut self, i: usize) {
        let family = &mut self.model.families[i];
        family.revoked = true;
        for t in family.refresh_tokens() {
            mark_dead(&mut self.dead_refresh, t);
        }
        self.dead_access.extend(family.access.iter().cloned());
    }

    /// Presents `token`; returns the grant whose replay the server must have reported.
    fn refresh(&mut self, token: &str) -> Result<Option<GrantId>, TestCaseError> {
        let expect = self.model.expect_refresh(token);
        let response = self.fx.refresh(token, "");
        // RT-03, checked on observations alone: a dead token never works again.
        if response.status() == 200 {
            prop_assert!(!self.dead_refresh.iter().any(|t| t == token), "a refused/rotated/revoked token worked again");
        }
        mark_dead(&mut self.dead_refresh, token);
        match expect {
            Expect::Refused => {
                check_refused(&response)?;
                Ok(None)
            }
            Expect::Replay(i) => {
                check_refused(&response)?;
                self.revoke(i);
                Ok(Some(self.model.families[i].grant_id.clone()))
            }
            Expect::Rotated(i) => {
                let (access, refresh) = strings(&response, "access_token", "refresh_token")?;
                prop_assert!(self.issued_refresh.insert(refresh.clone()), "refresh token issued twice");
                let now = self.model.now;
                let family = &mut self.model.families[i];
                // Idle expiry slides with each use; the grant's absolute end never moves (RT-09).
                let expires = (now + self.model.idle).min(family.grant_end);
                let old = std::mem::replace(&mut family.active, (refresh, expires));
                family.rotated.push((old.0, now));
                family.access.push(access);
                Ok(None)
            }
        }
    }

    /// The store holds exactly the model's live tokens.
    fn check_store(&self) -> Result<(), TestCaseError> {
        let store = &self.fx.store;
        let refresh = |t: &str| block_on(store.refresh_token(&RefreshToken::new(t).hash())).unwrap();
        let access = |t: &str| block_on(store.access_token(&AccessToken::new(t).hash())).unwrap();
        let (mut live_access, mut live_refresh) = (0, 0);
        for family in &self.model.families {
            let active = store.active_refresh_tokens(&family.grant_id);
            prop_assert!(active.len() <= 1, "{} active refresh tokens in one family", active.len());
            if family.revoked {
                prop_assert!(active.is_empty(), "a revoked family still has an active refresh token");
                for t in family.refresh_tokens() {
                    prop_assert!(refresh(t).is_none(), "a refresh token of a revoked family is still stored");
                }
                for t in &family.access {
                    prop_assert!(access(t).is_none(), "an access token of a revoked family is still stored");
                }
            } else {
                prop_assert_eq!(&active, &vec![RefreshToken::new(&family.active.0).hash()]);
                for (t, at) in &family.rotated {
                    let rotated_at = refresh(t).and_then(|r| r.rotated_at);
                    prop_assert_eq!(rotated_at, Some(self.at(*at)), "rotated-out token kept with its rotation time");
                }
                for t in &family.access {
                    prop_assert!(access(t).is_some(), "an access token of a live family is missing");
                }
                live_access += family.access.len();
                live_refresh += family.rotated.len() + 1;
            }
        }
        // Nothing else is stored: no token of a refused redemption, nothing left over.
        let (_, stored_access, stored_refresh) = store.counts();
        prop_assert_eq!((stored_access, stored_refresh), (live_access, live_refresh));
        for t in &self.dead_access {
            prop_assert!(access(t).is_none(), "an access token of a revoked family came back");
        }
        Ok(())
    }
}

fn which() -> impl Strategy<Value = Which> {
    prop_oneof![
        8 => Just(Which::Active),
        2 => any::<usize>().prop_map(Which::Issued),
        1 => any::<usize>().prop_map(Which::AccessToken),
        1 => "[A-Za-z0-9_-]{1,64}".prop_map(Which::Garbage),
    ]
}

/// One operation, with clock moves drawn from `advance`. Revocations are rare enough that most
/// sequences keep a live family for a while.
fn op(advance: impl Strategy<Value = i64>) -> impl Strategy<Value = Op> {
    prop_oneof![
        24 => (0..MAX_FAMILIES, proptest::bool::weighted(0.8), which())
            .prop_map(|(family, live, which)| Op::Refresh { family, live, which }),
        6 => advance.prop_map(Op::Advance),
        1 => (0..MAX_FAMILIES).prop_map(Op::RevokeGrant),
        3 => Just(Op::NewFamily),
        1 => Just(Op::RevokeSubject),
    ]
}

/// Sequences of up to 40 operations.
fn ops(advance: impl Strategy<Value = i64>) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(advance), 1..=40)
}

/// Clock moves of minutes at most: nothing expires.
fn small_advance() -> impl Strategy<Value = i64> {
    1..=120i64
}

/// Clock moves that reach the 14-day idle timeout and the 30-day absolute end: small steps,
/// whole days, and steps that land within seconds of the idle boundary (with the one-second
/// tick before each operation, `14 days - 2 s` lands a refresh exactly on it).
fn expiring_advance() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => 1..=120i64,
        4 => (1..=13i64).prop_map(|days| days * DAY),
        2 => (14 * DAY - 4)..=(14 * DAY),
        1 => (15..=31i64).prop_map(|days| days * DAY),
    ]
}

/// Keep-alive gaps: up to 13 days, or within a second of the idle timeout (with the tick,
/// `14 days - 1 s` presents the token exactly when it expires).
fn keep_alive_advance() -> impl Strategy<Value = i64> {
    prop_oneof![3 => DAY..=13 * DAY, 1 => (14 * DAY - 3)..=(14 * DAY - 1)]
}

fn run(initial_families: usize, tick: bool, ops: &[Op]) -> Result<Run, TestCaseError> {
    let mut run = Run::new(initial_families, tick)?;
    for op in ops {
        run.step(op)?;
    }
    Ok(run)
}

fn config() -> ProptestConfig {
    // No regression files: this suite may not write into tests/.
    ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    /// RT-07 (with RT-03, RT-06, RT-09 revocation): with the clock moving between operations,
    /// every refresh, replay, revocation and new grant does what the family model says, and
    /// the store always holds exactly the live families' tokens.
    #[test]
    fn rt07_model_random_refresh_replay_revoke_sequences_match_the_family_model(
        families in 1..=3usize,
        ops in ops(small_advance()),
    ) {
        run(families, true, &ops)?;
    }

    /// RT-07: without a tick between operations, a rotated-out token presented at the instant
    /// of its rotation is a lost race (refused, nothing revoked, no event) and the same token
    /// presented any later is a replay; a subject revocation at the instant of an approval
    /// also stops that code.
    #[test]
    fn rt07_model_same_instant_presentations_are_lost_races_that_revoke_nothing(
        families in 1..=3usize,
        ops in ops(0..=2i64),
    ) {
        run(families, false, &ops)?;
    }

    /// RT-03: a refresh token once refused, rotated out or revoked never works again: checked
    /// at every step, and once more at the end by presenting every such token again (each
    /// presentation still checked against the model, so a late replay revokes its family).
    #[test]
    fn rt03_model_refused_tokens_never_work_again(
        families in 1..=3usize,
        tick in any::<bool>(),
        ops in ops(0..=120i64),
    ) {
        let mut run = run(families, tick, &ops)?;
        // Every token ever refused, rotated out or revoked, in the order it died.
        let dead = run.dead_refresh.clone();
        for token in dead {
            run.advance(1);
            run.present(&token)?;
        }
        // Each family that ever rotated has now seen a replay of an old token, so it is revoked.
        prop_assert!(run.model.families.iter().all(|f| f.revoked || f.rotated.is_empty()));
    }

    /// RT-09: with clock moves of up to 31 days, keep-alive refreshes and presentations right
    /// at a grant's end, a refresh token dies 14 days after its last use and every token of a grant dies 30 days after its first token response, however
    /// often it is refreshed; expired tokens are refused without revoking anything, while a
    /// rotated-out token presented later is still a replay.
    #[test]
    fn rt09_model_idle_and_absolute_expiry_match_the_family_model(
        families in 1..=3usize,
        ops in proptest::collection::vec(
            prop_oneof![
                9 => op(expiring_advance()),
                2 => keep_alive_advance().prop_map(Op::KeepAlive),
                1 => (0..MAX_FAMILIES, -2..=0i64).prop_map(|(family, offset)| Op::AtGrantEnd { family, offset }),
            ],
            1..=40,
        ),
    ) {
        run(families, true, &ops)?;
    }
}
