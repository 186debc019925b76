//! Resource indicators (RFC 8707; RI-01..RI-03, JWT-03): reading `resource`, and choosing the
//! audience (`aud`) of each access token.
//!
//! # One audience per access token
//!
//! An authorization request may name several resources; the resource owner grants them all (or
//! fewer), and they are recorded with the grant. A token request names at most one, and every
//! access token has exactly one audience: the named resource, the grant's only resource when
//! it has one, or the server's default audience when the grant has none. A grant of several
//! resources needs the token request to say which (`invalid_target` otherwise). A token with
//! several audiences would be accepted by each of them, so a resource server that receives it
//! could replay it at the others: the very thing resource indicators exist to stop.
//!
//! Nothing widens the audience: a code redemption or a refresh may name only a granted resource
//! (or, for a grant without resources, the default audience), and the `audience` parameter some
//! clients send (token exchange, vendor dialects) is not read at all, so it can neither add a
//! resource nor stand in for one (bad-input class 17).

use crate::http::Params;
use crate::types::Resource;

/// The most resources one authorization request may name: a bound on what a request can make
/// the server record with a grant.
pub(crate) const MAX_RESOURCES: usize = 16;

/// Every `resource` of an authorization request (RI-01): each an absolute URI without a
/// fragment; repeats collapse, the first order kept.
pub(crate) fn read_all(params: &Params<'_>) -> Result<Vec<Resource>, &'static str> {
    let mut resources: Vec<Resource> = Vec::new();
    for text in params.get_all("resource") {
        let resource = Resource::new(text).map_err(|_| MALFORMED)?;
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    if resources.len() > MAX_RESOURCES {
        return Err("too many resources in one request");
    }
    Ok(resources)
}

/// The one `resource` a token request may name (RI-01), if any.
pub(crate) fn read_one(params: &Params<'_>) -> Result<Option<Resource>, &'static str> {
    let mut values = params.get_all("resource");
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err("a token request names at most one resource: each access token has one audience");
    }
    Resource::new(first).map(Some).map_err(|_| MALFORMED)
}

const MALFORMED: &str = "resource must be an absolute URI without a fragment";

/// The audience of an access token issued from a grant of `granted` resources (RI-02, RI-03):
/// the requested resource if the grant covers it, the grant's only resource, or the default
/// audience for a grant without resources. `None`: no audience at all (a server without a
/// default audience, and no resource).
pub(crate) fn for_grant(
    requested: Option<&Resource>,
    granted: &[Resource],
    default: Option<&str>,
) -> Result<Option<String>, &'static str> {
    match (requested, granted) {
        (Some(resource), []) if default == Some(resource.as_str()) => Ok(Some(resource.as_str().to_owned())),
        (Some(_), []) => Err("the resource was not granted"),
        (Some(resource), granted) if granted.contains(resource) => Ok(Some(resource.as_str().to_owned())),
        (Some(_), _) => Err("the resource was not granted"),
        (None, []) => Ok(default.map(str::to_owned)),
        (None, [only]) => Ok(Some(only.as_str().to_owned())),
        (None, _) => Err("several resources were granted: name one with resource"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Resource {
        Resource::new(text).unwrap()
    }

    #[test]
    fn ri02_the_audience_never_leaves_the_grant() {
        let (a, b) = (r("https://a.example/api"), r("https://b.example/api"));
        let default = Some("https://default.example");
        assert_eq!(for_grant(None, &[], default), Ok(Some("https://default.example".into())));
        assert_eq!(for_grant(None, &[], None), Ok(None));
        assert_eq!(
            for_grant(Some(&r("https://default.example")), &[], default).unwrap().unwrap(),
            "https://default.example"
        );
        assert!(for_grant(Some(&a), &[], default).is_err());
        assert_eq!(for_grant(None, std::slice::from_ref(&a), default).unwrap().unwrap(), a.as_str());
        assert!(for_grant(None, &[a.clone(), b.clone()], default).is_err());
        assert_eq!(for_grant(Some(&b), &[a.clone(), b.clone()], default).unwrap().unwrap(), b.as_str());
        // A grant of resources does not also cover the default audience.
        assert!(for_grant(Some(&r("https://default.example")), &[a], default).is_err());
    }

    #[test]
    fn ri01_an_authorization_request_names_at_most_16_distinct_resources() {
        let query = |n: usize, repeat_first: bool| {
            let mut text: Vec<String> = (0..n).map(|i| format!("resource=https%3A%2F%2Fr{i}.example")).collect();
            if repeat_first {
                text.push("resource=https%3A%2F%2Fr0.example".into());
            }
            text.join("&")
        };
        let read = |text: String| read_all(&Params::parse(text.as_bytes(), 1 << 16).unwrap()).map(|r| r.len());
        assert_eq!(read(query(MAX_RESOURCES, false)), Ok(MAX_RESOURCES));
        assert_eq!(read(query(MAX_RESOURCES, true)), Ok(MAX_RESOURCES), "a repeat collapses, and does not count");
        assert!(read(query(MAX_RESOURCES + 1, false)).is_err());
        assert_eq!(read(query(0, false)), Ok(0));
    }

    #[test]
    fn ri01_resource_syntax() {
        for good in ["https://api.example", "https://api.example/v1?x=1", "urn:example:api", "http://127.0.0.1:9/x"] {
            assert!(Resource::new(good).is_ok(), "{good}");
        }
        for bad in ["", "api", "/relative", "https://api.example/#frag", "https://a b", "1http://x", "https:", ":x"] {
            assert!(Resource::new(bad).is_err(), "{bad}");
        }
    }
}
