//! How a client authenticates at the mock's introspection endpoint: a secret (HTTP Basic or
//! form, RFC 6749 §2.3.1) or a `private_key_jwt` client assertion (RFC 7523 §2.2, OpenID
//! Connect Core §9), checked as a strict server checks it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

use crate::keys::{random_hex, KeyMaterial};
use crate::{now_unix, Error, KeyAlg};

/// The `client_assertion_type` of a JWT client assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair for `private_key_jwt`: the service under test signs its assertions
/// with [`private_key_pem`](Self::private_key_pem); the issuer knows the public half
/// ([`MockIssuer::add_introspection_client_key`](crate::MockIssuer::add_introspection_client_key)).
///
/// ```
/// use axum_principal_testkit::{AssertionKey, KeyAlg};
///
/// let key = AssertionKey::generate(KeyAlg::Es256)?;
/// assert!(key.private_key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
/// assert_eq!(key.public_jwk()["crv"], "P-256");
/// # Ok::<(), axum_principal_testkit::Error>(())
/// ```
#[derive(Clone)]
pub struct AssertionKey {
    material: Arc<KeyMaterial>,
    pkcs8: Arc<[u8]>,
    kid: String,
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssertionKey({}, kid {})", self.material.alg(), self.kid)
    }
}

impl AssertionKey {
    /// A fresh key pair for `alg`, with a random `kid`.
    pub fn generate(alg: KeyAlg) -> Result<Self, Error> {
        let (material, pkcs8) = KeyMaterial::generate_pkcs8(alg)?;
        Ok(Self {
            material: Arc::new(material),
            pkcs8: pkcs8.into(),
            kid: random_hex(8),
        })
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> KeyAlg {
        self.material.alg()
    }

    /// Its `kid` (in [`public_jwk`](Self::public_jwk)).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn private_key_pem(&self) -> String {
        let body = STANDARD.encode(&self.pkcs8);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        pem
    }

    /// The public half as a JWK carrying [`kid`](Self::kid).
    pub fn public_jwk(&self) -> Value {
        self.material.public_jwk(&self.kid)
    }
}

/// What a registered client authenticates with.
#[derive(Debug)]
enum Credential {
    Secret(String),
    Key(Arc<KeyMaterial>),
}

/// The registered clients, and the assertion ids already used.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    clients: HashMap<String, Credential>,
    used_jti: HashSet<String>,
}

/// What a request presented, read from its `Authorization` header and form.
pub(crate) struct Presented<'a> {
    pub(crate) authorization: Option<&'a str>,
    pub(crate) field: &'a dyn Fn(&str) -> Option<&'a str>,
    /// What an assertion's `aud` may be: the issuer identifier or the endpoint's URL.
    pub(crate) audiences: [&'a str; 2],
}

impl Clients {
    pub(crate) fn add_secret(&mut self, id: &str, secret: &str) {
        self.clients
            .insert(id.to_owned(), Credential::Secret(secret.to_owned()));
    }

    pub(crate) fn add_key(&mut self, id: &str, key: &AssertionKey) {
        self.clients
            .insert(id.to_owned(), Credential::Key(Arc::clone(&key.material)));
    }

    /// The registered client the request authenticates, if any.
    pub(crate) fn authenticate(&mut self, presented: &Presented<'_>) -> Option<String> {
        let field = presented.field;
        if let Some(assertion) = field("client_assertion") {
            let valid = field("client_assertion_type") == Some(JWT_BEARER)
                && self.check_assertion(assertion, field("client_id"), presented.audiences);
            return valid.then(|| assertion_issuer(assertion)).flatten();
        }
        let credentials = presented
            .authorization
            .and_then(basic_credentials)
            .or_else(|| {
                Some((
                    field("client_id")?.to_owned(),
                    field("client_secret")?.to_owned(),
                ))
            });
        credentials
            .filter(|(id, secret)| {
                matches!(self.clients.get(id), Some(Credential::Secret(s)) if s == secret)
            })
            .map(|(id, _)| id)
    }

    /// An assertion signed by the key registered for its `iss`, with `sub` the same client,
    /// `aud` one of `audiences`, an `exp` to come and a `jti` never seen before.
    fn check_assertion(
        &mut self,
        assertion: &str,
        client_id: Option<&str>,
        audiences: [&str; 2],
    ) -> bool {
        let mut parts = assertion.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let decode = |part: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
        };
        let (Some(header), Some(claims), Ok(signature)) = (
            decode(header),
            decode(payload),
            URL_SAFE_NO_PAD.decode(signature),
        ) else {
            return false;
        };
        let Some(iss) = claims["iss"].as_str() else {
            return false;
        };
        let Some(Credential::Key(key)) = self.clients.get(iss) else {
            return false;
        };
        let signed = assertion.rsplit_once('.').map_or("", |(s, _)| s);
        let aud_ok = match &claims["aud"] {
            Value::String(aud) => audiences.contains(&aud.as_str()),
            Value::Array(auds) => auds
                .iter()
                .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
            _ => false,
        };
        let valid = header["alg"].as_str() == Some(key.alg().as_str())
            && key.verify(signed.as_bytes(), &signature)
            && claims["sub"].as_str() == Some(iss)
            && client_id.is_none_or(|id| id == iss)
            && aud_ok
            && claims["exp"].as_i64().is_some_and(|exp| exp > now_unix());
        let Some(jti) = claims["jti"].as_str() else {
            return false;
        };
        valid && self.used_jti.insert(format!("{iss} {jti}"))
    }
}

/// The `iss` of an assertion (checked before this is asked).
fn assertion_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["iss"].as_str().map(str::to_owned)
}

/// `Basic base64(id:secret)`, each form-decoded (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `+` is a space, `%XX` a byte.
pub(crate) fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "http://127.0.0.1:1";
    const ENDPOINT: &str = "http://127.0.0.1:1/introspect";

    fn assertion(key: &AssertionKey, claims: Value) -> String {
        let header = json!({"alg": key.alg().as_str(), "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key.material.sign(input.as_bytes()).expect("signed");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn accepted(clients: &mut Clients, jwt: &str) -> bool {
        let form = [
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", jwt),
        ];
        let field = |name: &str| form.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        clients
            .authenticate(&Presented {
                authorization: None,
                field: &field,
                audiences: [ISSUER, ENDPOINT],
            })
            .is_some()
    }

    #[test]
    fn an_assertion_is_checked_as_a_strict_server_checks_it() {
        let key = AssertionKey::generate(KeyAlg::Es256).expect("a key");
        let other = AssertionKey::generate(KeyAlg::Es256).expect("a key");
        let mut clients = Clients::default();
        clients.add_key("api", &key);
        let exp = now_unix() + 60;
        let good =
            |jti: &str| json!({"iss": "api", "sub": "api", "aud": ISSUER, "jti": jti, "exp": exp});
        assert!(accepted(&mut clients, &assertion(&key, good("1"))));
        assert!(
            !accepted(&mut clients, &assertion(&key, good("1"))),
            "a jti used before"
        );
        let mut claims = good("2");
        claims["aud"] = json!("https://elsewhere.example.com");
        assert!(!accepted(&mut clients, &assertion(&key, claims)), "aud");
        let mut claims = good("3");
        claims["exp"] = json!(now_unix() - 1);
        assert!(!accepted(&mut clients, &assertion(&key, claims)), "exp");
        let mut claims = good("4");
        claims["sub"] = json!("someone-else");
        assert!(!accepted(&mut clients, &assertion(&key, claims)), "sub");
        assert!(
            !accepted(&mut clients, &assertion(&other, good("5"))),
            "another key"
        );
        assert!(accepted(&mut clients, &assertion(&key, good("6"))));
    }
}
