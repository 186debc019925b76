//! A model-based test of the device request state machine (DG-02..DG-04): random sequences of
//! polls (by the device and by another client), approvals, denials, verifications and clock
//! moves, run against the server and, step by step, against a small reference model:
//! pending -> approved / denied / expired -> redeemed, with the polling interval growing by 5 s
//! for every poll that comes too soon while pending.
//!
//! After every step the answer must be what the model predicts. Independently of the model, a
//! device code answers 200 at most once, ever.

mod common;

use std::sync::Arc;

use common::{ISSUER, block_on, json};
use oauth21::{
    Approval, Client, ClientSecret, DeviceDecisionError, GrantType, ManualClock, MemoryStore, Request, Server,
    ServerConfig, Subject, SystemRandom,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const LIFETIME: i64 = 600;

#[derive(Debug, Clone)]
enum Op {
    /// The device polls.
    Poll,
    /// Another (authenticated) client polls with the device's code.
    PollAsOtherClient,
    /// The user opens the verification page with the right code and approves.
    Approve,
    /// The user opens the verification page with the right code and denies.
    Deny,
    /// The clock moves this many seconds.
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Poll),
        1 => Just(Op::PollAsOtherClient),
        1 => Just(Op::Approve),
        1 => Just(Op::Deny),
        4 => (0i64..=20).prop_map(Op::Advance),
        1 => (100i64..=400).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

/// The reference model of one device request.
struct Model {
    state: State,
    now: i64,
    interval: i64,
    last_poll: Option<i64>,
}

impl Model {
    fn live(&self) -> bool {
        self.now < LIFETIME
    }

    /// What a poll by the device answers, and the model after it.
    fn poll(&mut self) -> &'static str {
        let too_soon = self.last_poll.is_some_and(|last| self.now < last + self.interval);
        self.last_poll = Some(self.now);
        if self.state == State::Pending && too_soon {
            self.interval += 5;
            return "slow_down";
        }
        if !self.live() {
            return "expired_token";
        }
        match self.state {
            State::Pending => "authorization_pending",
            State::Approved => {
                self.state = State::Redeemed;
                "tokens"
            }
            State::Denied => "access_denied",
            State::Redeemed => "invalid_grant",
        }
    }

    /// Whether a decision is recorded now, and the model after it.
    fn decide(&mut self, approve: bool) -> bool {
        if self.state != State::Pending || !self.live() {
            return false;
        }
        self.state = if approve { State::Approved } else { State::Denied };
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dg02_device_requests_follow_the_reference_state_machine(ops in proptest::collection::vec(op(), 1..40)) {
        let store = Arc::new(MemoryStore::new());
        store.insert_client(
            Client::public("tv").grant_types([GrantType::DeviceCode]).scope("read").default_scope("read").build().unwrap(),
        );
        store.insert_client(
            Client::confidential("console", &ClientSecret::new("a long enough console secret"))
                .grant_types([GrantType::DeviceCode])
                .scope("read")
                .build()
                .unwrap(),
        );
        let config = ServerConfig::builder(ISSUER).device_flow("https://as.example/device").build().unwrap();
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let server = Server::with_providers(config, store, clock.clone(), SystemRandom::new());
        let started = block_on(server.device_authorization(&Request::form_post(b"client_id=tv")));
        let started = json(&started);
        let device_code = started["device_code"].as_str().unwrap().to_owned();
        let user_code = started["user_code"].as_str().unwrap().to_owned();
        let mut model = Model { state: State::Pending, now: 0, interval: 5, last_poll: None };
        let mut tokens_seen = 0;
        for op in ops {
            match op {
                Op::Poll => {
                    let body = format!("grant_type={DEVICE_GRANT}&client_id=tv&device_code={device_code}");
                    let response = block_on(server.token(&Request::form_post(body.as_bytes())));
                    let answer = if response.status() == 200 {
                        tokens_seen += 1;
                        "tokens".to_owned()
                    } else {
                        json(&response)["error"].as_str().unwrap().to_owned()
                    };
                    prop_assert_eq!(answer.as_str(), model.poll(), "at {}s", model.now);
                }
                Op::PollAsOtherClient => {
                    let body = format!(
                        "grant_type={DEVICE_GRANT}&client_id=console&client_secret=a+long+enough+console+secret\
                         &device_code={device_code}"
                    );
                    let response = block_on(server.token(&Request::form_post(body.as_bytes())));
                    let body = json(&response);
                    prop_assert_eq!(body["error"].as_str(), Some("invalid_grant"));
                }
                Op::Approve | Op::Deny => {
                    let approve = matches!(op, Op::Approve);
                    let recorded = match block_on(server.device_verification(&user_code, "browser")) {
                        Err(_) => false,
                        Ok(consent) if approve => {
                            let approval = Approval::new(Subject::new("alice").unwrap());
                            match block_on(server.approve_device(&consent, approval)) {
                                Ok(()) => true,
                                Err(DeviceDecisionError::NotPending) => false,
                                Err(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
                            }
                        }
                        Ok(consent) => block_on(server.deny_device(&consent)).is_ok(),
                    };
                    prop_assert_eq!(recorded, model.decide(approve), "at {}s", model.now);
                }
                Op::Advance(seconds) => {
                    clock.advance(Duration::seconds(seconds));
                    model.now += seconds;
                }
            }
            prop_assert!(tokens_seen <= 1, "a device code answered 200 twice");
        }
    }
}
