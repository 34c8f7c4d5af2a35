//! The mock issuer's token introspection endpoint (RFC 7662): opaque tokens it issued,
//! the clients allowed to ask about them, revocation, and faults of its own.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::client_auth::{form_decode, Clients, Presented};
use crate::now_unix;

/// A fault of the introspection endpoint alone (discovery and JWKS keep answering), see
/// [`MockIssuer::set_introspection_fault`](crate::MockIssuer::set_introspection_fault).
/// [`Fault::Down`](crate::Fault::Down) takes the whole server down, this endpoint included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntrospectionFault {
    /// Answer normally.
    #[default]
    None,
    /// Wait this long before answering normally.
    Slow(Duration),
    /// Answer with this HTTP status and a short plain-text body.
    Status(u16),
    /// Answer `{"active":false}` for every token, as an issuer that lost its state would.
    Inactive,
    /// Answer as usual, but with `aud` naming another API
    /// ([`OTHER_AUDIENCE`](crate::OTHER_AUDIENCE)).
    WrongAudience,
    /// Refuse every client's credentials (`401` with `{"error":"invalid_client"}`), as
    /// after a secret rotation the resource server missed.
    RefuseCredentials,
    /// Answer `200 OK` with `Content-Type: application/json` and a body that is not JSON.
    Garbage,
    /// Asked for a signed answer (RFC 9701), answer one with `alg` `none` and no signature.
    UnsignedJwt,
    /// Asked for a signed answer, sign it with a key that is not in the JWKS.
    JwtForeignKey,
    /// Asked for a signed answer, sign it with the `typ` `JWT` (not
    /// `token-introspection+jwt`).
    JwtWrongTyp,
    /// Asked for a signed answer, sign one for another client (`aud` `another-client`).
    JwtWrongAudience,
    /// Asked for a signed answer, answer plain JSON anyway.
    JsonOnly,
}

/// What the endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct Introspection {
    /// Opaque token → the claims its introspection answers (without `active`).
    tokens: HashMap<String, Map<String, Value>>,
    revoked: HashSet<String>,
    pub(crate) clients: Clients,
    pub(crate) fault: IntrospectionFault,
}

/// What a request to the endpoint gets.
pub(crate) enum Reply {
    Json(u16, String),
    Text(u16, String),
    /// An answer (`200`) to `client`: JSON, or signed if the client asks (RFC 9701).
    Answer {
        client: String,
        answer: Value,
    },
}

impl Introspection {
    pub(crate) fn issue(&mut self, token: String, claims: Map<String, Value>) {
        self.tokens.insert(token, claims);
    }

    /// Revokes `token`; `false` if it was never issued.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        let known = self.tokens.contains_key(token);
        if known {
            self.revoked.insert(token.to_owned());
        }
        known
    }

    /// The answer to `POST {issuer}/introspect` with `authorization` (the header, if any)
    /// and `body` (the form), the fault aside from `Slow`.
    pub(crate) fn answer(
        &mut self,
        issuer: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let form = parse_form(body);
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let endpoint = format!("{issuer}/introspect");
        let authenticated = self.clients.authenticate(&Presented {
            authorization,
            field: &field,
            audiences: [issuer, &endpoint],
        });
        let Some(client) =
            authenticated.filter(|_| self.fault != IntrospectionFault::RefuseCredentials)
        else {
            return Reply::Json(401, json!({"error": "invalid_client"}).to_string());
        };
        let inactive = || Reply::Answer {
            client: client.clone(),
            answer: json!({"active": false}),
        };
        match self.fault {
            IntrospectionFault::Status(code) => {
                return Reply::Text(code, format!("mock issuer fault: status {code}\n"))
            }
            IntrospectionFault::Garbage => return Reply::Json(200, "not json {{{".to_owned()),
            IntrospectionFault::Inactive => return inactive(),
            _ => {}
        }
        let Some(token) = field("token") else {
            return Reply::Json(400, json!({"error": "invalid_request"}).to_string());
        };
        let Some(claims) = self.tokens.get(token) else {
            return inactive();
        };
        let expired = claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= now_unix());
        if expired || self.revoked.contains(token) {
            return inactive();
        }
        let mut answer = Map::new();
        answer.insert("active".into(), true.into());
        answer.extend(claims.clone());
        if self.fault == IntrospectionFault::WrongAudience {
            answer.insert("aud".into(), crate::OTHER_AUDIENCE.into());
        }
        Reply::Answer {
            client,
            answer: Value::Object(answer),
        }
    }
}

/// `application/x-www-form-urlencoded` pairs.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::basic_credentials;
    use base64::Engine as _;

    #[test]
    fn forms_and_basic_credentials_are_decoded() {
        assert_eq!(
            parse_form(b"token=a%2Bb+c&client_id=x"),
            vec![
                ("token".to_owned(), "a+b c".to_owned()),
                ("client_id".to_owned(), "x".to_owned())
            ]
        );
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my+client:p%40ss")
        );
        assert_eq!(
            basic_credentials(&header),
            Some(("my client".to_owned(), "p@ss".to_owned()))
        );
    }
}
