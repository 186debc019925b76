//! The benchmarked operations as timed batches, shared by criterion (`iter_custom`) and by the
//! end-of-run summary, so both time exactly the same code.
//!
//! A batch runs `iters` operations in chunks: each chunk's inputs (fresh grants for refresh) are
//! prepared untimed, then the operations are timed. Stores that grow with every operation (every
//! code flow and client_credentials request creates a grant) are replaced, untimed, after
//! `GROWTH_LIMIT` operations, the same for every implementation, so memory stays bounded and
//! none works on much larger maps than the others.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::floor::Floor;
use crate::oauth::Oauth21;
use crate::oauth_as::OauthAs;
use crate::oxide::{OxideAuth, SecretPolicy};

/// Operations prepared and timed per chunk.
const CHUNK: usize = 10_000;
/// Grants a fixture may accumulate before it is replaced (untimed).
const GROWTH_LIMIT: usize = 200_000;

/// Times `iters` runs of `run`, with `prepare` producing each chunk's inputs untimed.
pub fn chunked<S, I>(
    state: &mut S,
    iters: u64,
    mut prepare: impl FnMut(&mut S, usize) -> Vec<I>,
    mut run: impl FnMut(&mut S, I),
) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let inputs = prepare(state, n);
        let start = Instant::now();
        for input in inputs {
            run(state, input);
        }
        total += start.elapsed();
        left -= n as u64;
    }
    total
}

/// A fixture plus how many grants it holds, made on first use and replaced once it holds
/// `GROWTH_LIMIT`.
struct Growing<T> {
    fixture: Option<T>,
    grown: usize,
    fresh: fn() -> T,
}

impl<T> Growing<T> {
    fn new(fresh: fn() -> T) -> Self {
        Self { fixture: None, grown: 0, fresh }
    }

    /// Makes room for `n` more grants.
    fn reserve(&mut self, n: usize) {
        if self.fixture.is_none() || self.grown + n > GROWTH_LIMIT {
            self.fixture = None;
            self.fixture = Some((self.fresh)());
            self.grown = 0;
        }
        self.grown += n;
    }

    fn get(&mut self) -> &mut T {
        self.fixture.as_mut().expect("reserve first")
    }
}

/// One implementation of one operation: `batch(iters)` returns the time `iters` runs took.
pub struct Variant {
    pub name: &'static str,
    pub batch: Box<dyn FnMut(u64) -> Duration>,
}

impl Variant {
    fn new(name: &'static str, batch: impl FnMut(u64) -> Duration + 'static) -> Self {
        Self { name, batch: Box::new(batch) }
    }
}

/// One operation, with its variants: oauth21 first, then oxide-auth, then oauth-as, then the floor.
pub struct Op {
    pub id: &'static str,
    pub variants: Vec<Variant>,
}

pub const OAUTH21: &str = "oauth21";
pub const OXIDE: &str = "oxide-auth";
pub const OXIDE_SHA: &str = "oxide-auth (SHA-256 secrets)";
pub const OAUTH_AS: &str = "oauth-as";
pub const FLOOR: &str = "floor";

fn code_flow() -> Op {
    let mut o = Growing::new(Oauth21::new);
    let mut x = Growing::new(|| OxideAuth::new(SecretPolicy::Sha256));
    let mut a = Growing::new(OauthAs::new);
    let floor = Floor::new();
    Op {
        id: "code_flow",
        variants: vec![
            Variant::new(OAUTH21, move |iters| {
                chunked(
                    &mut o,
                    iters,
                    |o, n| {
                        o.reserve(n);
                        vec![(); n]
                    },
                    |o, ()| {
                        black_box(o.get().code_flow());
                    },
                )
            }),
            Variant::new(OXIDE, move |iters| {
                chunked(
                    &mut x,
                    iters,
                    |x, n| {
                        x.reserve(n);
                        vec![(); n]
                    },
                    |x, ()| {
                        black_box(x.get().code_flow());
                    },
                )
            }),
            Variant::new(OAUTH_AS, move |iters| {
                chunked(
                    &mut a,
                    iters,
                    |a, n| {
                        a.reserve(n);
                        vec![(); n]
                    },
                    |a, ()| {
                        black_box(a.get().code_flow());
                    },
                )
            }),
            Variant::new(FLOOR, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(floor.code_flow());
                    },
                )
            }),
        ],
    }
}

fn refresh() -> Op {
    let mut o = Growing::new(Oauth21::new);
    let mut x = Growing::new(|| OxideAuth::new(SecretPolicy::Sha256));
    let mut a = Growing::new(OauthAs::new);
    let floor = Floor::new();
    let presented = "kJ3mVq8wX1tY6zR0pL5nB2cD7fG9hA4sE8uI1oK6vMx".to_owned();
    Op {
        id: "refresh",
        variants: vec![
            Variant::new(OAUTH21, move |iters| {
                chunked(
                    &mut o,
                    iters,
                    |o, n| {
                        o.reserve(n);
                        (0..n).map(|_| Oauth21::refresh_body(&o.get().grant().1)).collect()
                    },
                    |o, body| {
                        black_box(o.get().refresh(&body));
                    },
                )
            }),
            Variant::new(OXIDE, move |iters| {
                chunked(
                    &mut x,
                    iters,
                    |x, n| {
                        x.reserve(n);
                        (0..n).map(|_| OxideAuth::refresh_body(&x.get().grant().1)).collect()
                    },
                    |x, body| {
                        black_box(x.get().refresh(&body));
                    },
                )
            }),
            Variant::new(OAUTH_AS, move |iters| {
                chunked(
                    &mut a,
                    iters,
                    |a, n| {
                        a.reserve(n);
                        (0..n).map(|_| OauthAs::refresh_body(&a.get().grant().1)).collect()
                    },
                    |a, body| {
                        black_box(a.get().refresh(&body));
                    },
                )
            }),
            Variant::new(FLOOR, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(floor.refresh(black_box(&presented)));
                    },
                )
            }),
        ],
    }
}

fn client_credentials() -> Op {
    let mut o = Growing::new(Oauth21::new);
    let mut argon = Growing::new(|| OxideAuth::new(SecretPolicy::Argon2));
    let mut sha = Growing::new(|| OxideAuth::new(SecretPolicy::Sha256));
    let mut a = Growing::new(OauthAs::new);
    let floor = Floor::new();
    Op {
        id: "client_credentials",
        variants: vec![
            Variant::new(OAUTH21, move |iters| {
                chunked(
                    &mut o,
                    iters,
                    |o, n| {
                        o.reserve(n);
                        vec![(); n]
                    },
                    |o, ()| {
                        black_box(o.get().client_credentials());
                    },
                )
            }),
            Variant::new(OXIDE, move |iters| {
                chunked(
                    &mut argon,
                    iters,
                    |x, n| {
                        x.reserve(n);
                        vec![(); n]
                    },
                    |x, ()| {
                        black_box(x.get().client_credentials());
                    },
                )
            }),
            Variant::new(OXIDE_SHA, move |iters| {
                chunked(
                    &mut sha,
                    iters,
                    |x, n| {
                        x.reserve(n);
                        vec![(); n]
                    },
                    |x, ()| {
                        black_box(x.get().client_credentials());
                    },
                )
            }),
            Variant::new(OAUTH_AS, move |iters| {
                chunked(
                    &mut a,
                    iters,
                    |a, n| {
                        a.reserve(n);
                        vec![(); n]
                    },
                    |a, ()| {
                        black_box(a.get().client_credentials());
                    },
                )
            }),
            Variant::new(FLOOR, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(floor.client_credentials());
                    },
                )
            }),
        ],
    }
}

fn introspection() -> Op {
    let o = Oauth21::new();
    let (access, _) = o.grant();
    let body = Oauth21::introspect_body(&access);
    let mut x = OxideAuth::new(SecretPolicy::Sha256);
    let header = format!("Bearer {}", x.grant().0);
    // oauth-as answers a resource server only about tokens addressed to it (RFC 8707 resource).
    let a = OauthAs::new();
    let a_body = OauthAs::introspect_body(&a.grant_for_resource_server().0);
    let floor = Floor::new();
    Op {
        id: "introspection",
        variants: vec![
            Variant::new(OAUTH21, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(o.introspect(black_box(&body)));
                    },
                )
            }),
            Variant::new(OXIDE, move |iters| {
                chunked(
                    &mut x,
                    iters,
                    |_, n| vec![(); n],
                    |x, ()| {
                        black_box(x.resource(black_box(&header)));
                    },
                )
            }),
            Variant::new(OAUTH_AS, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(a.introspect(black_box(&a_body)));
                    },
                )
            }),
            Variant::new(FLOOR, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(floor.introspect(black_box(&access)));
                    },
                )
            }),
        ],
    }
}

fn bearer_check() -> Op {
    let o = Oauth21::new();
    let (access, _) = o.grant();
    let o_header = format!("Bearer {access}");
    let mut x = OxideAuth::new(SecretPolicy::Sha256);
    let x_header = format!("Bearer {}", x.grant().0);
    let a = OauthAs::new();
    let a_header = format!("Bearer {}", a.grant().0);
    let floor = Floor::new();
    Op {
        id: "bearer_check",
        variants: vec![
            Variant::new(OAUTH21, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(o.bearer(black_box(&o_header)));
                    },
                )
            }),
            Variant::new(OXIDE, move |iters| {
                chunked(
                    &mut x,
                    iters,
                    |_, n| vec![(); n],
                    |x, ()| {
                        black_box(x.resource(black_box(&x_header)));
                    },
                )
            }),
            Variant::new(OAUTH_AS, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(a.bearer(black_box(&a_header)));
                    },
                )
            }),
            Variant::new(FLOOR, move |iters| {
                chunked(
                    &mut (),
                    iters,
                    |_, n| vec![(); n],
                    |_, ()| {
                        black_box(floor.bearer(black_box(&access)));
                    },
                )
            }),
        ],
    }
}

/// The operations, in the order of the issue.
pub const IDS: [&str; 5] = ["code_flow", "refresh", "client_credentials", "introspection", "bearer_check"];

/// One operation by id (see [`IDS`]).
pub fn op(id: &str) -> Op {
    match id {
        "code_flow" => code_flow(),
        "refresh" => refresh(),
        "client_credentials" => client_credentials(),
        "introspection" => introspection(),
        "bearer_check" => bearer_check(),
        _ => panic!("unknown op {id}; one of {IDS:?}"),
    }
}

/// The five operations, in the order of the issue.
pub fn ops() -> Vec<Op> {
    IDS.iter().map(|id| op(id)).collect()
}

/// Nanoseconds per operation for each variant, measured interleaved: every round runs one
/// batch of each variant (starting with a different one each round), so a burst of load from
/// elsewhere hits all of them alike; the median over the rounds is reported.
pub fn interleaved(op: &mut Op, rounds: usize, batch_time: Duration) -> Vec<f64> {
    // Calibrate: a batch size per variant that takes about `batch_time`.
    let sizes: Vec<u64> = op
        .variants
        .iter_mut()
        .map(|v| {
            let one = (v.batch)(1).max(Duration::from_nanos(1));
            let guess = (batch_time.as_nanos() / one.as_nanos()).clamp(1, 1_000_000) as u64;
            let t = (v.batch)(guess).max(Duration::from_nanos(1));
            ((batch_time.as_nanos() * u128::from(guess)) / t.as_nanos()).clamp(1, 1_000_000) as u64
        })
        .collect();
    let count = op.variants.len();
    let mut samples = vec![Vec::with_capacity(rounds); count];
    for round in 0..rounds {
        for k in 0..count {
            let i = (round + k) % count;
            let t = (op.variants[i].batch)(sizes[i]);
            samples[i].push(t.as_nanos() as f64 / sizes[i] as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
