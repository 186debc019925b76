//! What a client says about itself: the human-readable members of a registration.

use serde::{Deserialize, Serialize};

use super::RegistrationError;

/// What a client says about itself (the human-readable members of RFC 7591 §2), for the
/// consent page. Nobody checked any of it: a page that shows `client_name` should show the
/// client id and the redirect URI next to it, since a dynamically registered client can name
/// itself anything.
///
/// Names are at most 256 characters without control characters; URLs are `https` (or `http`
/// on a loopback host), at most 2048 characters; at most 16 contacts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientDisplay {
    /// `client_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// `client_uri`: the client's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// `logo_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// `tos_uri`: its terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// `policy_uri`: its privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// `contacts`: people responsible for the client, usually e-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

impl ClientDisplay {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub(super) fn check(&self) -> Result<(), RegistrationError> {
        let text_ok = |t: &str| !t.is_empty() && t.chars().count() <= 256 && !t.chars().any(char::is_control);
        let url_ok = |u: &str| {
            u.len() <= 2048
                && !u.contains('#')
                && u.bytes().all(|b| b.is_ascii_graphic())
                && crate::types::Issuer::new(u.split(['?']).next().unwrap_or("").trim_end_matches('/')).is_ok()
        };
        if self.client_name.as_deref().is_some_and(|n| !text_ok(n)) {
            return Err(RegistrationError::Display("client_name"));
        }
        for (name, value) in [
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("tos_uri", &self.tos_uri),
            ("policy_uri", &self.policy_uri),
        ] {
            if value.as_deref().is_some_and(|u| !url_ok(u)) {
                return Err(RegistrationError::Display(name));
            }
        }
        if self.contacts.len() > 16 || self.contacts.iter().any(|c| !text_ok(c)) {
            return Err(RegistrationError::Display("contacts"));
        }
        Ok(())
    }
}
