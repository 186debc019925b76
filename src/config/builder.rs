//! [`ServerConfigBuilder`]: every setting, checked once in [`ServerConfigBuilder::build`].

use super::*;

/// Builds a [`ServerConfig`]; every value is checked in [`ServerConfigBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerConfigBuilder {
    issuer: String,
    config: ServerConfigValues,
}

impl ServerConfigBuilder {
    pub(super) fn new(issuer: &str, defaults: ServerConfigValues) -> Self {
        Self { issuer: issuer.to_owned(), config: defaults }
    }

    /// Authorization-code lifetime: more than zero, at most [`MAX_CODE_LIFETIME`].
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.code_lifetime = lifetime;
        self
    }

    /// Access-token lifetime: more than zero, at most one day.
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.access_token_lifetime = lifetime;
        self
    }

    /// Absolute refresh-token lifetime, counted from the authorization: more than zero, at
    /// most one year.
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.refresh_token_lifetime = lifetime;
        self
    }

    /// Idle timeout of refresh tokens (`None` for none): more than zero, at most the absolute
    /// lifetime.
    pub fn refresh_token_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.refresh_token_idle_timeout = timeout;
        self
    }

    /// Opt-out for confidential clients: keep one refresh token for the life of the grant
    /// instead of rotating it. Public clients always rotate (RT-06).
    pub fn keep_confidential_refresh_tokens(mut self) -> Self {
        self.config.rotate_confidential_refresh_tokens = false;
        self
    }

    /// Opt-in leniency: for `period` after a rotation, the refresh token it rotated out may be
    /// retried **once**, giving a new token pair in the same grant and rotating out the pair
    /// the lost response carried. For clients on networks that drop responses. At most
    /// [`MAX_REFRESH_GRACE_PERIOD`].
    ///
    /// Security cost: during the period, whoever holds a stolen copy of the previous token can
    /// get one fresh pair without the replay being detected at that moment. Detection then
    /// comes one step later, when the legitimate client uses the token that retry rotated out,
    /// and revokes the grant; until then the thief holds valid tokens.
    pub fn refresh_grace_period(mut self, period: Duration) -> Self {
        self.config.refresh_grace_period = Some(period);
        self
    }

    /// Largest query string or form body read, in bytes; at least 8000.
    pub fn max_request_bytes(mut self, limit: usize) -> Self {
        self.config.max_request_bytes = limit;
        self
    }

    /// Records `audience` as the `aud` of every access token, for resource servers that check
    /// it (RS-05). Any non-empty visible ASCII text, typically the resource server's URL.
    pub fn access_token_audience(mut self, audience: impl Into<String>) -> Self {
        self.config.access_token_audience = Some(audience.into());
        self
    }

    /// How far a DPoP proof's `iat` may be from now (default 60 s, at most 5 minutes; DP-02).
    pub fn dpop_window(mut self, window: Duration) -> Self {
        if let Some(dpop) = &mut self.config.dpop {
            dpop.window = window;
        }
        self
    }

    /// Requires a server nonce in every DPoP proof (DP-03): stateless nonces under `secret`
    /// (at least 32 random bytes, the same on every instance), each good for one to two steps
    /// of `step`. Off by default.
    pub fn dpop_nonces(mut self, secret: &[u8], step: Duration) -> Self {
        self.config.dpop_nonce_secret_too_short = secret.len() < 32;
        if let Some(dpop) = &mut self.config.dpop {
            dpop.nonces = Some(NonceKey::new(secret, step));
        }
        self
    }

    /// Which audiences client assertions may name (default [`AssertionAudience::IssuerOnly`]).
    pub fn client_assertion_audience(mut self, audience: AssertionAudience) -> Self {
        self.config.assertion_audience = audience;
        self
    }

    /// The longest a client assertion may live, `exp - iat` (default 5 minutes, at most an
    /// hour; CA-03).
    pub fn client_assertion_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.assertion_max_lifetime = lifetime;
        self
    }

    /// Turns DPoP off: proofs are ignored and every token is a bearer token. For a store that
    /// cannot claim a proof's `jti` once
    /// ([`Capabilities::SINGLE_USE_CLAIMS`](crate::store::Capabilities::SINGLE_USE_CLAIMS)); DPoP is on by
    /// default and needs it.
    pub fn without_dpop(mut self) -> Self {
        self.config.dpop = None;
        self
    }

    /// Sets the access-token format (default [`AccessTokenFormat::Opaque`]). JWTs (RFC 9068)
    /// need an [audience](Self::access_token_audience) and a signing key from the server's
    /// [`Server::with_jwt_keys`](crate::Server::with_jwt_keys).
    pub fn access_token_format(mut self, format: AccessTokenFormat) -> Self {
        self.config.access_token_format = format;
        self
    }

    /// How long a pushed request's `request_uri` lives (default 60 s; above zero and under
    /// 10 minutes, PAR-07).
    pub fn pushed_request_lifetime(mut self, lifetime: Duration) -> Self {
        if let Some(p) = &mut self.config.pushed_requests {
            p.lifetime = lifetime;
        } else {
            self.config.pushed_requests = Some(PushedRequests { lifetime, required: false });
        }
        self
    }

    /// Turns the device authorization grant (RFC 8628) on, with `verification_uri` the page of
    /// the host's where users enter their code (an `https` URL, `http` only on a loopback host,
    /// without query or fragment): its `device_authorization_endpoint` is served by
    /// [`Server::device_authorization`](crate::Server::device_authorization). Codes live 10
    /// minutes and devices poll every 5 s unless set otherwise. The store needs
    /// [`Capabilities::DEVICE_REQUESTS`](crate::store::Capabilities::DEVICE_REQUESTS).
    pub fn device_flow(mut self, verification_uri: impl Into<String>) -> Self {
        let (lifetime, interval) = self
            .config
            .device
            .as_ref()
            .map_or((Duration::minutes(10), Duration::seconds(5)), |d| (d.lifetime, d.interval));
        self.config.device = Some(DeviceFlow { verification_uri: verification_uri.into(), lifetime, interval });
        self
    }

    /// How long a device code lives (at most 30 minutes); only with [`Self::device_flow`].
    pub fn device_code_lifetime(mut self, lifetime: Duration) -> Self {
        if let Some(device) = &mut self.config.device {
            device.lifetime = lifetime;
        }
        self
    }

    /// The polling interval a device starts with (1 s to 60 s); only with [`Self::device_flow`].
    pub fn device_poll_interval(mut self, interval: Duration) -> Self {
        if let Some(device) = &mut self.config.device {
            device.interval = interval;
        }
        self
    }

    /// Requires every authorization request to be pushed first
    /// (`require_pushed_authorization_requests`, RFC 9126 §5; PAR-05): a plain authorization
    /// request is refused with `invalid_request`. Turns pushed requests on.
    pub fn require_pushed_requests(mut self) -> Self {
        let lifetime = self.config.pushed_requests.map_or(Duration::seconds(60), |p| p.lifetime);
        self.config.pushed_requests = Some(PushedRequests { lifetime, required: true });
        self
    }

    /// Turns on the FAPI 2.0 Security Profile as a whole (FAPI-01): pushed authorization
    /// requests required, with `redirect_uri` in each (PAR-08); confidential clients only,
    /// authenticating with `private_key_jwt` only, at every endpoint; DPoP-bound tokens only;
    /// codes living at most 60 s; refresh tokens of confidential clients not rotated (the
    /// profile lets a client retry a refresh whose answer it lost). PKCE with S256 and `iss` in
    /// every authorization response are always on. A setting that contradicts the profile
    /// (DPoP or pushed requests off, a longer code lifetime) makes
    /// [`build`](Self::build) fail with [`ConfigError::Fapi2`].
    pub fn fapi2_security_profile(mut self) -> Self {
        self.config.fapi2 = true;
        self
    }

    /// Turns pushed authorization requests off: no endpoint, nothing in the metadata, and no
    /// need for a store with [`Capabilities::PUSHED_REQUESTS`](crate::store::Capabilities).
    pub fn without_pushed_requests(mut self) -> Self {
        self.config.pushed_requests = None;
        self
    }

    /// Sets the endpoints' paths under the issuer (defaults: `/authorize`, `/token`,
    /// `/revoke`, `/introspect`, `/jwks.json`, `/par`).
    pub fn endpoint_paths(mut self, paths: EndpointPaths) -> Self {
        self.config.paths = paths;
        self
    }

    /// Opt-in leniency: let `http://localhost` redirect URIs match any port, as RFC 8252 §7.3
    /// allows but does not recommend. Loopback IP literals always match any port.
    pub fn allow_localhost_any_port(mut self) -> Self {
        self.config.localhost_any_port = true;
        self
    }

    /// Checks every value and returns the configuration.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let c = self.config;
        let in_range = |d: Duration, max: Duration| d > Duration::ZERO && d <= max;
        if !in_range(c.code_lifetime, MAX_CODE_LIFETIME) {
            return Err(ConfigError::Lifetime("code_lifetime"));
        }
        if !in_range(c.access_token_lifetime, Duration::days(1)) {
            return Err(ConfigError::Lifetime("access_token_lifetime"));
        }
        if !in_range(c.refresh_token_lifetime, Duration::days(366)) {
            return Err(ConfigError::Lifetime("refresh_token_lifetime"));
        }
        if c.refresh_token_idle_timeout.is_some_and(|t| !in_range(t, c.refresh_token_lifetime)) {
            return Err(ConfigError::Lifetime("refresh_token_idle_timeout"));
        }
        if c.refresh_grace_period.is_some_and(|p| !in_range(p, MAX_REFRESH_GRACE_PERIOD)) {
            return Err(ConfigError::Lifetime("refresh_grace_period"));
        }
        if c.max_request_bytes < 8000 {
            return Err(ConfigError::RequestLimit);
        }
        let path_ok =
            |p: &str| p.starts_with('/') && !p.contains(['?', '#']) && p.bytes().all(|b| b.is_ascii_graphic());
        let paths = &c.paths;
        if ![
            &paths.authorization,
            &paths.token,
            &paths.revocation,
            &paths.introspection,
            &paths.jwks,
            &paths.pushed_authorization_request,
            &paths.registration,
            &paths.device_authorization,
        ]
        .iter()
        .all(|p| path_ok(p))
        {
            return Err(ConfigError::EndpointPath);
        }
        let audience_ok = |a: &String| !a.is_empty() && a.len() <= 2048 && a.bytes().all(|b| b.is_ascii_graphic());
        if c.access_token_audience.as_ref().is_some_and(|a| !audience_ok(a)) {
            return Err(ConfigError::Audience);
        }
        // RFC 9068 §2.2: `aud` is required in a JWT access token (JWT-03).
        if c.access_token_format == AccessTokenFormat::Jwt && c.access_token_audience.is_none() {
            return Err(ConfigError::JwtNeedsAudience);
        }
        if c.dpop.as_ref().is_some_and(|d| !in_range(d.window, dpop::MAX_WINDOW)) {
            return Err(ConfigError::DpopWindow);
        }
        if c.dpop_nonce_secret_too_short {
            return Err(ConfigError::DpopNonceSecret);
        }
        if !in_range(c.assertion_max_lifetime, Duration::hours(1)) {
            return Err(ConfigError::Lifetime("client_assertion_max_lifetime"));
        }
        if c.pushed_requests.is_some_and(|p| !in_range(p.lifetime, MAX_PUSHED_REQUEST_LIFETIME)) {
            return Err(ConfigError::Lifetime("pushed_request_lifetime"));
        }
        if let Some(device) = &c.device {
            let uri = device.verification_uri.strip_suffix('/').unwrap_or(&device.verification_uri);
            if Issuer::new(uri).is_err() {
                return Err(ConfigError::VerificationUri);
            }
            if !in_range(device.lifetime, Duration::minutes(30)) {
                return Err(ConfigError::Lifetime("device_code_lifetime"));
            }
            if device.interval < Duration::seconds(1) || device.interval > Duration::minutes(1) {
                return Err(ConfigError::Lifetime("device_poll_interval"));
            }
        }
        let mut c = c;
        if c.fapi2 {
            if c.dpop.is_none() {
                return Err(ConfigError::Fapi2("DPoP cannot be turned off"));
            }
            let Some(pushed) = &mut c.pushed_requests else {
                return Err(ConfigError::Fapi2("pushed authorization requests cannot be turned off"));
            };
            pushed.required = true;
            if c.code_lifetime > Duration::seconds(60) {
                return Err(ConfigError::Fapi2("codes live at most 60 seconds"));
            }
            c.rotate_confidential_refresh_tokens = false;
        }
        Ok(ServerConfig {
            issuer: Issuer::new(self.issuer)?,
            code_lifetime: c.code_lifetime,
            access_token_lifetime: c.access_token_lifetime,
            refresh_token_lifetime: c.refresh_token_lifetime,
            refresh_token_idle_timeout: c.refresh_token_idle_timeout,
            rotate_confidential_refresh_tokens: c.rotate_confidential_refresh_tokens,
            refresh_grace_period: c.refresh_grace_period,
            max_request_bytes: c.max_request_bytes,
            localhost_any_port: c.localhost_any_port,
            access_token_audience: c.access_token_audience,
            access_token_format: c.access_token_format,
            paths: c.paths,
            dpop: c.dpop,
            assertion_audience: c.assertion_audience,
            assertion_max_lifetime: c.assertion_max_lifetime,
            pushed_requests: c.pushed_requests,
            fapi2: c.fapi2,
            device: c.device,
        })
    }
}
