//! Unit tests of the grants' tables: records, refusals, revocation, purges and rotation.

use time::Duration;

use super::*;
use crate::test_support::at;
use crate::types::{ClientId, Resource};

fn grant(id: &'static str) -> GrantRecord {
    GrantRecord {
        grant_id: GrantId::from_static(id),
        client_id: ClientId::from_static("app"),
        subject: Subject::from_static("alice"),
        scope: Scope::from_static("read write"),
        authorized_at: at(0),
        expires_at: at(86_400),
        resources: vec![Resource::from_static("https://api.example")],
    }
}

fn access(grant: &GrantRecord, secret: &str) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: TokenHash::of(secret),
        grant_id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        scope: Scope::from_static("read"),
        audience: None,
        issued_at: at(0),
        expires_at: at(3_600),
        jkt: None,
    }
}

fn refresh(grant: &GrantRecord, secret: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: TokenHash::of(secret),
        grant_id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        scope: grant.scope.clone(),
        issued_at: at(0),
        expires_at: at(7_200),
        grant_expires_at: grant.expires_at,
        rotated_at: None,
        jkt: None,
        resources: grant.resources.clone(),
    }
}

#[test]
fn records_come_back_exactly_as_given_with_and_without_their_rare_fields() {
    let mut grants = Grants::default();
    let g = grant("g1");
    let mut plain = (access(&g, "a1"), refresh(&g, "r1"));
    plain.0.scope = g.scope.clone(); // the usual case: nothing of the token's own is boxed
    let new = NewGrant { grant: g.clone(), access: plain.0.clone(), refresh: Some(plain.1.clone()) };
    assert_eq!(grants.insert_new(new).unwrap(), InsertOutcome::Inserted);
    assert_eq!(grants.access(&plain.0.hash), Some(plain.0));
    assert_eq!(grants.refresh(&plain.1.hash), Some(plain.1.clone()));

    // A narrower, bound access token with an audience, and a refresh token unlike its grant.
    let mut bound = access(&g, "a2");
    bound.audience = Some("https://api.example".into());
    bound.jkt = Some("thumbprint".into());
    let mut odd = refresh(&g, "r2");
    odd.jkt = Some("thumbprint".into());
    odd.scope = Scope::from_static("read");
    odd.resources = Vec::new();
    odd.grant_expires_at = at(43_200);
    let rotation =
        Rotation { from: plain.1.hash, grace_retry: false, access: bound.clone(), refresh: odd.clone(), at: at(60) };
    assert_eq!(grants.rotate(rotation).unwrap(), RotateOutcome::Rotated);
    assert_eq!(grants.access(&bound.hash), Some(bound));
    assert_eq!(grants.refresh(&odd.hash), Some(odd));
    let rotated = grants.refresh(&plain.1.hash).unwrap();
    assert_eq!(rotated.rotated_at, Some(at(60)));
}

#[test]
fn a_token_that_names_another_grant_client_or_subject_is_refused_and_nothing_is_written() {
    let mut grants = Grants::default();
    let g = grant("g1");
    let mut foreign = access(&g, "a1");
    foreign.subject = Subject::from_static("mallory");
    let new = NewGrant { grant: g.clone(), access: foreign, refresh: Some(refresh(&g, "r1")) };
    assert!(grants.insert_new(new).is_err());
    assert_eq!(grants.counts(), (0, 0));
    assert!(grants.families.is_empty());
    assert!(grants.refresh(&TokenHash::of("r1")).is_none());
}

#[test]
fn a_grant_whose_access_or_refresh_token_is_already_held_is_refused_and_nothing_is_written() {
    let mut grants = Grants::default();
    let g1 = grant("g1");
    grants
        .insert_new(NewGrant { grant: g1.clone(), access: access(&g1, "a1"), refresh: Some(refresh(&g1, "r1")) })
        .unwrap();
    let g2 = grant("g2");
    for (a, r) in [("a1", "r2"), ("a2", "r1")] {
        let new = NewGrant { grant: g2.clone(), access: access(&g2, a), refresh: Some(refresh(&g2, r)) };
        assert!(grants.insert_new(new).is_err(), "{a} {r}");
        assert!(!grants.families.contains_key(&g2.grant_id));
        assert_eq!(grants.counts(), (1, 1), "{a} {r}");
    }
    let again = NewGrant { grant: g1.clone(), access: access(&g1, "a3"), refresh: Some(refresh(&g1, "r3")) };
    assert!(grants.insert_new(again).is_err(), "a grant id is never reused while its grant lives");
    assert_eq!(grants.counts(), (1, 1));
}

#[test]
fn a_grant_of_one_access_token_is_not_indexed_by_id_yet_revoked_by_id_and_by_subject() {
    let mut grants = Grants::default();
    let (g1, g2) = (grant("g1"), grant("g2"));
    let mut g3 = grant("g3");
    g3.subject = Subject::from_static("bob");
    for (g, secret) in [(&g1, "a1"), (&g2, "a2"), (&g3, "a3")] {
        let new = NewGrant { grant: g.clone(), access: access(g, secret), refresh: None };
        assert_eq!(grants.insert_new(new).unwrap(), InsertOutcome::Inserted);
    }
    assert!(grants.families.is_empty(), "only grants with a refresh token are indexed by id");
    let found = |grants: &Grants, secret: &str| grants.access(&TokenHash::of(secret)).is_some();

    // Remembered for less time than the token lives (it ends at 3,600 s).
    grants.revoke(&g1.grant_id, at(60));
    assert!(!found(&grants, "a1") && found(&grants, "a2") && found(&grants, "a3"));
    assert_eq!(grants.counts(), (2, 0));
    // The purge that forgets the revocation drops the token first: it never comes back.
    grants.purge(at(120));
    assert!(grants.revoked.is_empty());
    assert!(!found(&grants, "a1"));
    assert_eq!(grants.access.len(), 2);

    grants.revoke_subject(&Subject::from_static("alice"), at(200), at(300));
    assert!(!found(&grants, "a2") && found(&grants, "a3"), "bob's grant is not alice's");
    grants.purge(at(400));
    assert!(!found(&grants, "a2") && found(&grants, "a3"));
    assert_eq!(grants.access.len(), 1);
}

#[test]
fn rt09_a_revocation_outlives_a_purge_until_its_memory_ends() {
    let mut grants = Grants::default();
    let g = grant("g1"); // authorized at 0
    let new = || NewGrant { grant: grant("g1"), access: access(&g, "a"), refresh: None };
    let other = || NewGrant { grant: grant("g2"), access: access(&grant("g2"), "b"), refresh: None };
    grants.revoke_subject(&g.subject, at(10), at(1_000));
    grants.revoke(&GrantId::from_static("g2"), at(1_000));
    grants.purge(at(500));
    assert_eq!(grants.insert_new(new()).unwrap(), InsertOutcome::GrantRevoked, "the subject is remembered");
    assert_eq!(grants.insert_new(other()).unwrap(), InsertOutcome::GrantRevoked, "the grant is remembered");
    grants.purge(at(1_000));
    assert_eq!(grants.insert_new(new()).unwrap(), InsertOutcome::Inserted, "the memory ended");
    assert_eq!(grants.insert_new(other()).unwrap(), InsertOutcome::Inserted);
}

#[test]
fn a_purge_at_an_access_tokens_end_drops_it_and_one_before_keeps_it() {
    let mut grants = Grants::default();
    let g = grant("g1");
    // Ends at 3,600 s, like the bearer check's `now >= expires_at`.
    grants.insert_new(NewGrant { grant: g.clone(), access: access(&g, "a1"), refresh: None }).unwrap();
    grants.purge(at(3_599));
    assert!(grants.access(&TokenHash::of("a1")).is_some());
    grants.purge(at(3_600));
    assert_eq!(grants.access.len(), 0, "a token is over at its end");
}

#[test]
fn rt03_a_purge_before_its_end_leaves_a_grant_rotating_and_one_at_its_end_ends_it() {
    let mut grants = Grants::default();
    let g = grant("g1"); // ends at 86_400
    grants
        .insert_new(NewGrant { grant: g.clone(), access: access(&g, "a1"), refresh: Some(refresh(&g, "r1")) })
        .unwrap();
    grants.purge(at(3_000));
    assert_eq!(grants.rotate(rotation("r1", &g, "r2", false)).unwrap(), RotateOutcome::Rotated);
    grants.purge(at(86_400));
    assert!(grants.families.is_empty(), "at its end the grant is over");
    assert_eq!(grants.rotate(rotation("r2", &g, "r3", false)).unwrap(), RotateOutcome::NotActive);
}

fn rotation(from: &str, grant: &GrantRecord, new: &str, grace_retry: bool) -> Rotation {
    Rotation {
        from: TokenHash::of(from),
        grace_retry,
        access: access(grant, &format!("{new}-a")),
        refresh: refresh(grant, new),
        at: at(60),
    }
}

#[test]
fn rt03_a_rotation_is_refused_once_its_grant_is_purged_even_if_its_token_outlives_the_grant() {
    let mut grants = Grants::default();
    let g = grant("g1");
    let mut long = refresh(&g, "r1");
    long.grant_expires_at = at(200_000); // this token claims to outlive its grant
    long.expires_at = at(150_000);
    grants.insert_new(NewGrant { grant: g.clone(), access: access(&g, "a1"), refresh: Some(long) }).unwrap();
    grants.purge(at(100_000));
    assert!(grants.families.is_empty(), "the grant itself has ended");
    assert!(grants.refresh(&TokenHash::of("r1")).is_some(), "the token is still held");
    assert_eq!(grants.rotate(rotation("r1", &g, "r2", false)).unwrap(), RotateOutcome::NotActive);
    // A new grant under the same id starts its own rotation state.
    let fresh = refresh(&g, "r3");
    grants.insert_new(NewGrant { grant: g.clone(), access: access(&g, "a3"), refresh: Some(fresh) }).unwrap();
    assert_eq!(grants.rotate(rotation("r1", &g, "r4", false)).unwrap(), RotateOutcome::NotActive);
    assert_eq!(grants.rotate(rotation("r3", &g, "r5", false)).unwrap(), RotateOutcome::Rotated);
}

#[test]
fn rt07_a_rotation_naming_another_grant_than_its_token_replaces_nothing_and_grace_is_one_retry() {
    let mut grants = Grants::default();
    let (g1, g2) = (grant("g1"), grant("g2"));
    for (g, name) in [(&g1, "1"), (&g2, "2")] {
        let new = NewGrant {
            grant: g.clone(),
            access: access(g, &format!("a{name}")),
            refresh: Some(refresh(g, &format!("r{name}"))),
        };
        grants.insert_new(new).unwrap();
    }
    // r1 is g1's active token; presented as g2's, it replaces nothing.
    assert_eq!(grants.rotate(rotation("r1", &g2, "x", false)).unwrap(), RotateOutcome::NotActive);
    assert_eq!(grants.active_refresh_tokens(&GrantId::from_static("g2")), vec![TokenHash::of("r2")]);
    // The grace retry still follows the grant's own state: once, from the token just rotated out.
    assert_eq!(grants.rotate(rotation("r1", &g1, "r1b", false)).unwrap(), RotateOutcome::Rotated);
    assert_eq!(grants.rotate(rotation("r1", &g1, "r1c", true)).unwrap(), RotateOutcome::Rotated);
    assert_eq!(grants.rotate(rotation("r1", &g1, "r1d", true)).unwrap(), RotateOutcome::NotActive);
    assert_eq!(grants.rotate(rotation("r1b", &g1, "r1e", true)).unwrap(), RotateOutcome::NotActive);
    assert_eq!(grants.rotate(rotation("r1c", &g1, "r1f", false)).unwrap(), RotateOutcome::Rotated);
}

#[test]
fn revoking_a_grant_hides_its_tokens_at_once_and_the_purge_drops_them() {
    let mut grants = Grants::default();
    for id in ["g1", "g2"] {
        let g = grant(id);
        let (a, r) = (access(&g, &format!("{id}-a")), refresh(&g, &format!("{id}-r")));
        grants.insert_new(NewGrant { grant: g, access: a, refresh: Some(r) }).unwrap();
    }
    grants.revoke(&GrantId::from_static("g1"), at(86_400));
    assert!(grants.access(&TokenHash::of("g1-a")).is_none());
    assert!(grants.refresh(&TokenHash::of("g1-r")).is_none());
    assert!(grants.access(&TokenHash::of("g2-a")).is_some(), "another grant is untouched");
    assert_eq!(grants.counts(), (1, 1));
    // A revoked grant stays revoked: no new grant or rotation under its id.
    let g1 = grant("g1");
    let again = NewGrant { grant: g1.clone(), access: access(&g1, "x"), refresh: None };
    assert_eq!(grants.insert_new(again).unwrap(), InsertOutcome::GrantRevoked);
    grants.purge(at(1));
    assert_eq!(grants.access.len() + grants.refresh.len(), 2, "the purge dropped the revoked grant's tokens");
    grants.purge(at(86_400) + Duration::seconds(1));
    assert_eq!(grants.access.len() + grants.refresh.len() + grants.families.len() + grants.revoked.len(), 0);
}
