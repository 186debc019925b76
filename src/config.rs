//! [`ServerConfig`]: the issuer, lifetimes and policy switches.
//!
//! Everything defaults to the strict, secure choice; each leniency is a named opt-in.

use time::Duration;

use crate::types::{InvalidValue, Issuer};

/// Longest authorization-code lifetime the builder accepts (OAuth 2.1 §4.1.2: 10 minutes max).
pub const MAX_CODE_LIFETIME: Duration = Duration::minutes(10);

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not a valid issuer identifier.
    #[error("invalid issuer: {0}")]
    Issuer(#[from] InvalidValue),
    /// A lifetime is zero, negative or above its maximum.
    #[error("{0} is out of range")]
    Lifetime(&'static str),
    /// A size limit is below what the specification requires servers to accept.
    #[error("max_request_bytes must be at least 8000 (OAuth 2.1 §1.7.1)")]
    RequestLimit,
}

/// The server's configuration. Build one with [`ServerConfig::builder`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    issuer: Issuer,
    code_lifetime: Duration,
    access_token_lifetime: Duration,
    refresh_token_lifetime: Duration,
    max_request_bytes: usize,
    localhost_any_port: bool,
}

impl ServerConfig {
    /// Starts a configuration for `issuer` with the defaults: codes live 60 s, access tokens
    /// 1 hour, refresh tokens 30 days, request parameters up to 16 KiB.
    pub fn builder(issuer: &str) -> ServerConfigBuilder {
        ServerConfigBuilder {
            issuer: issuer.to_owned(),
            config: ServerConfigValues {
                code_lifetime: Duration::seconds(60),
                access_token_lifetime: Duration::hours(1),
                refresh_token_lifetime: Duration::days(30),
                max_request_bytes: 16 * 1024,
                localhost_any_port: false,
            },
        }
    }

    /// The issuer identifier, sent as `iss` on every authorization response (AZ-13).
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// How long an authorization code stays redeemable (AZ-15).
    pub fn code_lifetime(&self) -> Duration {
        self.code_lifetime
    }

    /// How long an access token stays valid.
    pub fn access_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
    }

    /// How long a refresh token stays valid.
    pub fn refresh_token_lifetime(&self) -> Duration {
        self.refresh_token_lifetime
    }

    /// Largest query string or form body read, in bytes (SEC-08).
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// Whether `http://localhost` redirect URIs match any port, as loopback IP literals do.
    pub fn localhost_any_port(&self) -> bool {
        self.localhost_any_port
    }

    /// How long a revoked grant must be remembered so that nothing issued for it later can be
    /// stored: the longest time anything of the grant can still be presented.
    pub(crate) fn grant_memory(&self) -> Duration {
        self.code_lifetime.max(self.access_token_lifetime).max(self.refresh_token_lifetime)
    }
}

#[derive(Debug, Clone)]
struct ServerConfigValues {
    code_lifetime: Duration,
    access_token_lifetime: Duration,
    refresh_token_lifetime: Duration,
    max_request_bytes: usize,
    localhost_any_port: bool,
}

/// Builds a [`ServerConfig`]; every value is checked in [`ServerConfigBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerConfigBuilder {
    issuer: String,
    config: ServerConfigValues,
}

impl ServerConfigBuilder {
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

    /// Refresh-token lifetime: more than zero, at most one year.
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.refresh_token_lifetime = lifetime;
        self
    }

    /// Largest query string or form body read, in bytes; at least 8000.
    pub fn max_request_bytes(mut self, limit: usize) -> Self {
        self.config.max_request_bytes = limit;
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
        if c.max_request_bytes < 8000 {
            return Err(ConfigError::RequestLimit);
        }
        Ok(ServerConfig {
            issuer: Issuer::new(self.issuer)?,
            code_lifetime: c.code_lifetime,
            access_token_lifetime: c.access_token_lifetime,
            refresh_token_lifetime: c.refresh_token_lifetime,
            max_request_bytes: c.max_request_bytes,
            localhost_any_port: c.localhost_any_port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az15_code_lifetime_defaults_to_60s_and_is_capped_at_10_minutes() {
        let c = ServerConfig::builder("https://as.example").build().unwrap();
        assert_eq!(c.code_lifetime(), Duration::seconds(60));
        let too_long = ServerConfig::builder("https://as.example").code_lifetime(Duration::seconds(601));
        assert_eq!(too_long.build().unwrap_err(), ConfigError::Lifetime("code_lifetime"));
        let zero = ServerConfig::builder("https://as.example").code_lifetime(Duration::ZERO);
        assert!(zero.build().is_err());
    }

    #[test]
    fn sec08_request_limit_cannot_go_below_8000() {
        assert!(ServerConfig::builder("https://as.example").max_request_bytes(7999).build().is_err());
        assert!(ServerConfig::builder("https://as.example").max_request_bytes(8000).build().is_ok());
    }

    #[test]
    fn sec01_http_issuer_refused_unless_loopback() {
        assert!(ServerConfig::builder("http://as.example").build().is_err());
        assert!(ServerConfig::builder("http://127.0.0.1:8080").build().is_ok());
    }
}
