//! HTTP-agnostic edges: the [`Request`] a host hands in, the [`Response`] it sends back, and the
//! strict parameter parser (OAuth 2.1 Appendix B) every endpoint reads through.
//!
//! The parser is strict by default: a malformed percent escape or invalid UTF-8 fails the whole
//! input, an input over the configured size limit fails before it is decoded (SEC-08), a
//! parameter sent without a value counts as omitted, and a parameter that the endpoint defines
//! and that appears more than once is an error (AZ-02, TK-02). Unknown parameters are ignored.

mod basic;
mod form;
mod json;

use std::borrow::Cow;
use std::fmt;

pub(crate) use basic::read_basic_auth;
pub use basic::{BasicAuthError, basic_auth_header, parse_basic_auth};
pub use form::ParamError;
pub(crate) use form::{Params, append_form_component, decode_component, encode_form};
pub(crate) use json::JsonObject;

/// The request method, as far as OAuth endpoints care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// Any other method; every endpoint refuses it.
    Other,
}

impl Method {
    /// Reads a method name. Method names are case-sensitive (RFC 9110 §9.1).
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            _ => Self::Other,
        }
    }
}

/// A header as the host passed it: absent, sent once, or sent more than once.
///
/// An empty value counts as absent everywhere (a framework adapter that writes
/// `unwrap_or_default()` must not turn "no header" into "an empty credential").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header<'a> {
    Absent,
    Once(&'a [u8]),
    /// Sent more than once: refused where it matters (ambiguous credentials), never resolved
    /// by picking one.
    Repeated,
}

impl<'a> Header<'a> {
    fn add(self, value: &'a [u8]) -> Self {
        if value.trim_ascii().is_empty() {
            return self;
        }
        match self {
            Self::Absent => Self::Once(value),
            Self::Once(_) | Self::Repeated => Self::Repeated,
        }
    }

    fn value(self) -> Option<&'a [u8]> {
        match self {
            Self::Once(value) => Some(value),
            Self::Absent | Self::Repeated => None,
        }
    }
}

/// One HTTP request as the OAuth core sees it: the method, the raw query string, the raw body
/// and the few headers OAuth reads (`Authorization`, `Content-Type`, `DPoP`), plus a client
/// certificate the host's TLS layer verified.
///
/// It borrows from the host's own request, so building one copies nothing. `Debug` prints only
/// sizes: bodies and `Authorization` headers carry secrets.
///
/// Pass **every** value of a header: call `with_authorization` (or `with_dpop`, ...) once per
/// header line. A header sent twice is then known to be repeated, and the endpoints refuse the
/// ambiguous credentials with `invalid_request` instead of silently choosing one. An empty
/// value counts as no header.
///
/// ```
/// use oauth21::Request;
/// let req = Request::post(b"grant_type=authorization_code&code=abc")
///     .with_content_type(b"application/x-www-form-urlencoded")
///     .with_authorization(b"Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
/// assert_eq!(req.method(), oauth21::Method::Post);
/// assert!(req.repeated_header().is_none());
///
/// let twice = req.with_authorization(b"Basic b3RoZXI6b3RoZXI=");
/// assert_eq!(twice.repeated_header(), Some("Authorization"));
/// assert_eq!(twice.authorization(), None);
/// ```
#[derive(Clone, Copy)]
pub struct Request<'a> {
    method: Method,
    method_name: &'a str,
    path: Option<&'a str>,
    query: &'a [u8],
    body: &'a [u8],
    authorization: Header<'a>,
    content_type: Header<'a>,
    dpop: Header<'a>,
    client_certificate: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request with the given method and nothing else.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            method_name: match method {
                Method::Get => "GET",
                Method::Post => "POST",
                _ => "",
            },
            path: None,
            query: b"",
            body: b"",
            authorization: Header::Absent,
            content_type: Header::Absent,
            dpop: Header::Absent,
            client_certificate: None,
        }
    }

    /// A `GET` request with `query`: the raw query string, without the leading `?`.
    pub fn get(query: &'a str) -> Self {
        Self::new(Method::Get).with_query(query.as_bytes())
    }

    /// A `POST` request with `body` and no headers; see [`Request::form_post`].
    pub fn post(body: &'a [u8]) -> Self {
        Self::new(Method::Post).with_body(body)
    }

    /// A `POST` request with `body` and `Content-Type: application/x-www-form-urlencoded`.
    pub fn form_post(body: &'a [u8]) -> Self {
        Self::post(body).with_content_type(b"application/x-www-form-urlencoded")
    }

    /// A request with the method `name` as sent (case-sensitive, any method): what a resource
    /// server passes, since a DPoP proof names the method (`htm`).
    pub fn method_named(name: &'a str) -> Self {
        let mut request = Self::new(Method::from_name(name));
        request.method_name = name;
        request
    }

    /// Sets the request's path (without the query), as the client sent it: a resource server's
    /// DPoP check compares it, after the resource server's configured public URL, with the
    /// proof's `htu`.
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self
    }

    /// Sets the raw query string (without the leading `?`), as bytes off the wire.
    pub fn with_query(mut self, query: &'a [u8]) -> Self {
        self.query = query;
        self
    }

    /// Sets the raw body.
    pub fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// Adds an `Authorization` header value, as bytes off the wire. A second call records the
    /// header as repeated; an empty value is no header.
    pub fn with_authorization(mut self, value: &'a [u8]) -> Self {
        self.authorization = self.authorization.add(value);
        self
    }

    /// Adds a `Content-Type` header value, as bytes off the wire. A second call records the
    /// header as repeated, and the body is then not read as a form.
    pub fn with_content_type(mut self, value: &'a [u8]) -> Self {
        self.content_type = self.content_type.add(value);
        self
    }

    /// Adds a `DPoP` header value (RFC 9449: a proof JWT), as bytes off the wire. A second call
    /// records the header as repeated.
    pub fn with_dpop(mut self, value: &'a [u8]) -> Self {
        self.dpop = self.dpop.add(value);
        self
    }

    /// Sets the client certificate (DER) that the host's TLS layer received **and verified**
    /// for this connection (mutual TLS, RFC 8705). The core never verifies certificate chains;
    /// it only compares what it is given with what a client registered.
    pub fn with_client_certificate(mut self, der: &'a [u8]) -> Self {
        self.client_certificate = Some(der);
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method's name as sent (`GET`, `POST`, or what [`Request::method_named`] was given).
    pub fn method_name(&self) -> &'a str {
        self.method_name
    }

    /// The request path, if the host passed one.
    pub fn path(&self) -> Option<&'a str> {
        self.path
    }

    /// The raw query string.
    pub fn query(&self) -> &'a [u8] {
        self.query
    }

    /// The raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The `Authorization` header, when it was sent exactly once (see
    /// [`Request::repeated_header`]).
    pub fn authorization(&self) -> Option<&'a [u8]> {
        self.authorization.value()
    }

    /// The `Content-Type` header, when it was sent exactly once.
    pub fn content_type(&self) -> Option<&'a [u8]> {
        self.content_type.value()
    }

    /// The `DPoP` header, when it was sent exactly once.
    pub fn dpop(&self) -> Option<&'a [u8]> {
        self.dpop.value()
    }

    /// The verified client certificate (DER) the host passed, if any.
    pub fn client_certificate(&self) -> Option<&'a [u8]> {
        self.client_certificate
    }

    /// Whether `Authorization` was sent more than once.
    pub(crate) fn authorization_repeated(&self) -> bool {
        self.authorization == Header::Repeated
    }

    /// The first header of `Authorization`, `DPoP` and `Content-Type` that was sent more than
    /// once. Every endpoint refuses such a request before reading it.
    pub fn repeated_header(&self) -> Option<&'static str> {
        [("Authorization", self.authorization), ("DPoP", self.dpop), ("Content-Type", self.content_type)]
            .into_iter()
            .find_map(|(name, header)| (header == Header::Repeated).then_some(name))
    }

    /// Whether the body is declared as `application/x-www-form-urlencoded` (parameters such as
    /// `charset=UTF-8` allowed; the media type compares case-insensitively).
    pub(crate) fn has_form_content_type(&self) -> bool {
        let Some(value) = self.content_type.value() else { return false };
        let media = value.split(|&b| b == b';').next().unwrap_or(b"");
        media.trim_ascii().eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("query_len", &self.query.len())
            .field("body_len", &self.body.len())
            .field("authorization", &self.authorization.value().map(|_| "<redacted>"))
            .field("content_type", &self.content_type.value().map(String::from_utf8_lossy))
            .field("dpop", &self.dpop.value().map(|v| v.len()))
            .field("client_certificate", &self.client_certificate.map(<[u8]>::len))
            .field("repeated_header", &self.repeated_header())
            .finish()
    }
}

/// What to send back: a status, headers and a body.
///
/// `Debug` prints the status, header names and body length only, since bodies and `Location`
/// headers carry codes and tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
}

/// A response's headers: at most one of each name, in the order first set, names in their
/// canonical case.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Cow<'static, [HeaderEntry]>);

impl Headers {
    /// Every header as (name, value), in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'static str, &str)> + '_ {
        self.0.iter().map(|(name, value)| (*name, value.as_ref()))
    }

    /// The header called `name` (compared case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name: a response never
    /// carries two contradictory headers.
    fn set(&mut self, name: &'static str, value: Cow<'static, str>) {
        let headers = self.0.to_mut();
        match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => *slot = (name, value),
            None => headers.push((name, value)),
        }
    }
}

impl<'h> IntoIterator for &'h Headers {
    type Item = (&'static str, &'h str);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'static str, &'h str)> + 'h>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// A header as kept in [`Headers`]: fixed values are not copied.
type HeaderEntry = (&'static str, Cow<'static, str>);

impl IntoIterator for Headers {
    type Item = (&'static str, String);
    type IntoIter = std::iter::Map<std::vec::IntoIter<HeaderEntry>, fn(HeaderEntry) -> (&'static str, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_owned().into_iter().map(|(name, value)| (name, value.into_owned()))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: `Location` and `Set-Cookie` values carry codes and tokens.
        f.debug_list().entries(self.0.iter().map(|(name, _)| name)).finish()
    }
}

impl Response {
    pub(crate) fn new(status: u16) -> Self {
        // Room for the usual three or four headers in one allocation.
        Self { status, headers: Headers(Cow::Owned(Vec::with_capacity(4))), body: Vec::new() }
    }

    /// The headers every JSON answer starts with: a constant, so the usual answer allocates
    /// nothing for its headers (a header set later copies them first).
    const JSON_HEADERS: &'static [HeaderEntry] = &[
        ("Content-Type", Cow::Borrowed("application/json")),
        ("Cache-Control", Cow::Borrowed("no-store")),
        ("Pragma", Cow::Borrowed("no-cache")),
    ];

    /// A JSON answer that must not be cached (TK-10): `Cache-Control: no-store`,
    /// `Pragma: no-cache`.
    pub(crate) fn json(status: u16, body: Vec<u8>) -> Self {
        Self { status, headers: Headers(Cow::Borrowed(Self::JSON_HEADERS)), body }
    }

    /// A redirect to `location` with the given 3xx status, never cached.
    /// A public JSON document (metadata of a server or a resource): 200, cacheable for an hour;
    /// 500 if it cannot be serialised.
    pub(crate) fn public_document(document: &impl serde::Serialize) -> Self {
        match serde_json::to_vec(document) {
            Ok(body) => Self::new(200)
                .with_header("Content-Type", "application/json")
                .with_header("Cache-Control", "public, max-age=3600")
                .with_body(body),
            Err(_) => Self::new(500),
        }
    }

    pub(crate) fn redirect(status: u16, location: String) -> Self {
        Self::new(status).with_header("Location", location).with_header("Cache-Control", "no-store")
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.headers.set(name, value.into());
        self
    }

    pub(crate) fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every header, in order, one per name. Names are in their canonical case.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header called `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.header("Location")
    }

    /// Whether this is a redirect (a 3xx status with a `Location`).
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.location().is_some()
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Splits the response into status, headers and body, for handing to a framework.
    pub fn into_parts(self) -> (u16, Headers, Vec<u8>) {
        (self.status, self.headers, self.body)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n).collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Borrows the parts the core reads from an `http::Request` whose body is already collected
/// (feature `http`). Every value of a repeated header is passed on, so the endpoints see the
/// repetition and refuse it.
///
/// ```
/// # #[cfg(feature = "http")] {
/// let http_request = http::Request::post("/token?x=1")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(b"grant_type=client_credentials".to_vec())
///     .unwrap();
/// let request = oauth21::Request::from(&http_request);
/// assert_eq!(request.query(), b"x=1");
/// # }
/// ```
#[cfg(feature = "http")]
impl<'a, B: AsRef<[u8]>> From<&'a ::http::Request<B>> for Request<'a> {
    fn from(request: &'a ::http::Request<B>) -> Self {
        Request::from_http(request.method(), request.uri(), request.headers(), request.body().as_ref())
    }
}

#[cfg(feature = "http")]
impl<'a> Request<'a> {
    /// A request from `http` parts and the collected body, for hosts that hold the two apart
    /// (feature `http`).
    ///
    /// ```
    /// # #[cfg(feature = "http")] {
    /// let (parts, body) = http::Request::post("/token")
    ///     .header("authorization", "Basic YTpi")
    ///     .header("authorization", "Basic Yzpk")
    ///     .body(b"grant_type=client_credentials".to_vec())
    ///     .unwrap()
    ///     .into_parts();
    /// let request = oauth21::Request::from_parts(&parts, &body);
    /// assert_eq!(request.repeated_header(), Some("Authorization"));
    /// # }
    /// ```
    pub fn from_parts(parts: &'a ::http::request::Parts, body: &'a [u8]) -> Self {
        Request::from_http(&parts.method, &parts.uri, &parts.headers, body)
    }

    fn from_http(
        method: &'a ::http::Method,
        uri: &'a ::http::Uri,
        headers: &'a ::http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        let mut out = Request::method_named(method.as_str())
            .with_path(uri.path())
            .with_query(uri.query().unwrap_or("").as_bytes())
            .with_body(body);
        for value in headers.get_all(::http::header::AUTHORIZATION) {
            out = out.with_authorization(value.as_bytes());
        }
        for value in headers.get_all(::http::header::CONTENT_TYPE) {
            out = out.with_content_type(value.as_bytes());
        }
        for value in headers.get_all("dpop") {
            out = out.with_dpop(value.as_bytes());
        }
        out
    }
}

/// Turns the core's answer into an `http::Response` (feature `http`).
#[cfg(feature = "http")]
impl From<Response> for ::http::Response<Vec<u8>> {
    fn from(response: Response) -> Self {
        let (status, headers, body) = response.into_parts();
        let mut out = ::http::Response::new(body);
        *out.status_mut() = ::http::StatusCode::from_u16(status).unwrap_or(::http::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in headers {
            // Every name and value here is made by this crate from visible ASCII.
            if let (Ok(name), Ok(value)) =
                (::http::HeaderName::from_bytes(name.as_bytes()), ::http::HeaderValue::from_str(&value))
            {
                out.headers_mut().append(name, value);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tk10_a_json_answer_has_its_three_headers_and_later_headers_add_or_replace() {
        let answer = Response::json(200, b"{}".to_vec());
        let names = |r: &Response| r.headers().iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>();
        assert_eq!(names(&answer), ["Content-Type: application/json", "Cache-Control: no-store", "Pragma: no-cache"]);
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        // The same answer built header by header is equal to it.
        let by_hand = Response::new(200)
            .with_header("Content-Type", "application/json")
            .with_header("Cache-Control", "no-store")
            .with_header("Pragma", "no-cache")
            .with_body(b"{}".to_vec());
        assert_eq!(answer, by_hand);
        let challenged =
            answer.clone().with_header("WWW-Authenticate", "Basic").with_header("Cache-Control", "private");
        assert_eq!(
            names(&challenged),
            ["Content-Type: application/json", "Cache-Control: private", "Pragma: no-cache", "WWW-Authenticate: Basic"]
        );
        // The constant itself is untouched by the copy that was changed.
        assert_eq!(names(&answer)[1], "Cache-Control: no-store");
        let owned: Vec<(&str, String)> = challenged.headers().clone().into_iter().collect();
        assert_eq!(owned.len(), 4);
    }

    #[test]
    fn tk01_content_type_parameters_and_case_are_accepted() {
        let r = Request::post(b"").with_content_type(b"Application/X-WWW-Form-Urlencoded; charset=UTF-8");
        assert!(r.has_form_content_type());
        assert!(!Request::post(b"").with_content_type(b"application/json").has_form_content_type());
        assert!(!Request::post(b"").has_form_content_type());
    }
}
