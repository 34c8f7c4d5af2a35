//! `AUTHZ_INTROSPECTION_CLIENT` and `AUTHZ_INTROSPECTION_CACHE_SECS`: opaque tokens of the
//! first `AUTHZ_ISSUER` entry, introspected (RFC 7662) at the endpoint its discovery
//! document names, with HTTP Basic client credentials (CONTRACT.md, "Opaque tokens").

use std::fmt;
use std::time::Duration;

use axum_principal::{Introspection, Issuer};

use crate::settings::ConfigProblem;

/// The longest answer-cache lifetime accepted (the library's bound).
const MAX_CACHE_SECS: u64 = 24 * 3600;

/// How opaque tokens are introspected. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IntrospectionSetting {
    /// The client id this service authenticates with.
    pub client_id: String,
    client_secret: String,
    /// How long an active answer is reused (`AUTHZ_INTROSPECTION_CACHE_SECS`; zero: never).
    pub cache: Duration,
}

impl fmt::Debug for IntrospectionSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionSetting")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("cache", &self.cache)
            .finish()
    }
}

impl IntrospectionSetting {
    /// The client id and secret (development mode registers them at its issuer).
    pub fn credentials(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    /// `issuer` introspecting its opaque tokens with these credentials (HTTP Basic).
    pub fn apply(&self, issuer: Issuer) -> Issuer {
        issuer.introspection(
            Introspection::new(self.client_id.clone(), self.client_secret.clone())
                .cache(self.cache),
        )
    }
}

/// Reads both variables through `get` (which treats an empty value as unset). The cache
/// lifetime is checked even without a client, and then has nothing to do.
pub(crate) fn introspection_from(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<IntrospectionSetting>, ConfigProblem> {
    let cache = match get("AUTHZ_INTROSPECTION_CACHE_SECS") {
        None => Duration::ZERO,
        Some(value) => match value.parse::<u64>() {
            Ok(secs) if secs <= MAX_CACHE_SECS => Duration::from_secs(secs),
            _ => {
                return Err(ConfigProblem::new(
                    "AUTHZ_INTROSPECTION_CACHE_SECS",
                    format!(
                        "{value:?} is not a whole number of seconds from 0 to {MAX_CACHE_SECS}"
                    ),
                ))
            }
        },
    };
    let Some(client) = get("AUTHZ_INTROSPECTION_CLIENT") else {
        return Ok(None);
    };
    // The value holds a secret: the message never repeats it.
    let Some((id, secret)) = client
        .split_once(':')
        .filter(|(id, s)| !id.is_empty() && !s.is_empty())
    else {
        return Err(ConfigProblem::new(
            "AUTHZ_INTROSPECTION_CLIENT",
            "is not client_id:client_secret (both non-empty, separated by the first ':')",
        ));
    };
    Ok(Some(IntrospectionSetting {
        client_id: id.to_owned(),
        client_secret: secret.to_owned(),
        cache,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<IntrospectionSetting>, ConfigProblem> {
        introspection_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn client_and_cache_are_read_and_the_secret_never_shown() {
        let setting = read(&[
            ("AUTHZ_INTROSPECTION_CLIENT", "orders-api:s3cr:et"),
            ("AUTHZ_INTROSPECTION_CACHE_SECS", "30"),
        ])
        .expect("valid")
        .expect("set");
        assert_eq!(setting.client_id, "orders-api");
        assert_eq!(setting.client_secret, "s3cr:et");
        assert_eq!(setting.cache, Duration::from_secs(30));
        assert!(!format!("{setting:?}").contains("s3cr"));
        assert_eq!(read(&[]), Ok(None));
    }

    #[test]
    fn mistakes_name_the_variable_and_never_echo_the_secret() {
        for client in ["no-colon-s3cret", ":s3cret", "orders-api:"] {
            let problem = read(&[("AUTHZ_INTROSPECTION_CLIENT", client)]).expect_err(client);
            assert_eq!(problem.variable, "AUTHZ_INTROSPECTION_CLIENT");
            assert!(!problem.message.contains("s3cret"), "{problem}");
            assert!(!problem.message.contains("orders-api"), "{problem}");
        }
        for cache in ["-1", "soon", "86401"] {
            let problem = read(&[
                ("AUTHZ_INTROSPECTION_CLIENT", "a:b"),
                ("AUTHZ_INTROSPECTION_CACHE_SECS", cache),
            ])
            .expect_err(cache);
            assert_eq!(problem.variable, "AUTHZ_INTROSPECTION_CACHE_SECS");
        }
    }
}
