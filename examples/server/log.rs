//! The server's log: one line per security event, internal failure and request, as text or
//! JSON (`--log-format`). Never a code, token, secret, request body or `Authorization` value:
//! events carry identifiers only, and a request line has the method, path, status and time.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use oauth21::hooks::{Failure, Hooks, SecurityEvent};
use serde_json::{Map, Value, json};

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `ts=... kind=... key="value" ...`
    Text,
    /// One JSON object per line.
    Json,
}

/// Writes log lines to standard error (standard output carries the start-up walk-through).
#[derive(Debug)]
pub struct Log {
    format: LogFormat,
}

impl Log {
    /// A log writing `format`.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }

    /// One line of `kind` with `fields`, in this log's format.
    pub fn line(&self, kind: &str, fields: Map<String, Value>) -> String {
        let ts = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        match self.format {
            LogFormat::Json => {
                let mut object = Map::new();
                object.insert("ts".into(), json!((ts * 1000.0).round() / 1000.0));
                object.insert("kind".into(), kind.into());
                object.extend(fields);
                Value::Object(object).to_string()
            }
            LogFormat::Text => {
                // Values as JSON literals: strings quoted and escaped, so a client id with spaces
                // or quotes cannot forge another field.
                let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("ts={ts:.3} kind={kind} {}", rest.join(" ")).trim_end().to_owned()
            }
        }
    }

    fn write(&self, kind: &str, fields: Map<String, Value>) {
        eprintln!("{}", self.line(kind, fields));
    }
}

fn fields(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The fields of a security event: identifiers only.
pub fn event_fields(event: &SecurityEvent) -> (&'static str, Map<String, Value>) {
    match event {
        SecurityEvent::CodeReplay { client_id, grant_id, subject } => (
            "code_replay",
            fields([
                ("client_id", client_id.as_str().into()),
                ("grant_id", grant_id.as_str().into()),
                ("subject", subject.as_str().into()),
            ]),
        ),
        SecurityEvent::RefreshTokenReplay { client_id, grant_id, subject } => (
            "refresh_token_replay",
            fields([
                ("client_id", client_id.as_str().into()),
                ("grant_id", grant_id.as_str().into()),
                ("subject", subject.as_str().into()),
            ]),
        ),
        SecurityEvent::ClientAuthenticationFailed { client_id, reason } => (
            "client_authentication_failed",
            fields([
                ("client_id", client_id.as_ref().map_or(Value::Null, |id| id.as_str().into())),
                ("reason", format!("{reason:?}").into()),
            ]),
        ),
        SecurityEvent::ClientRegistered { client_id } => {
            ("client_registered", fields([("client_id", client_id.as_str().into())]))
        }
        other => ("security_event", fields([("event", format!("{other:?}").into())])),
    }
}

impl Hooks for Log {
    fn report(&self, event: &SecurityEvent) {
        let (kind, fields) = event_fields(event);
        self.write(kind, fields);
    }

    fn failure(&self, failure: &Failure<'_>) {
        let fields = match failure {
            Failure::Store { operation, error } => {
                let cause = std::error::Error::source(*error).map_or(Value::Null, |c| c.to_string().into());
                fields([
                    ("source", "store".into()),
                    ("operation", (*operation).into()),
                    ("error", error.to_string().into()),
                    ("cause", cause),
                ])
            }
            Failure::Signing { error } => fields([("source", "signer".into()), ("error", error.to_string().into())]),
            other => fields([("source", format!("{other:?}").into())]),
        };
        self.write("failure", fields);
    }
}

/// The request line: method, path (never the query, which can carry codes), status, duration.
pub async fn requests(State(log): State<Arc<Log>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    log.write(
        "request",
        fields([
            ("method", method.into()),
            ("path", path.into()),
            ("status", response.status().as_u16().into()),
            ("ms", ms.into()),
        ]),
    );
    response
}
