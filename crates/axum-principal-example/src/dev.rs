//! Development mode (no `AUTHZ_ISSUER`): the embedded mock issuer, the tokens it mints for
//! the console, and the banner with ready-to-paste `curl` lines.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum_principal::Preset;
use axum_principal_testkit::{MockIssuer, TokenBuilder, DEFAULT_AUDIENCE};

use crate::settings::{IssuerSettings, Settings};

/// Tokens minted by the embedded development issuer.
#[derive(Debug, Clone)]
pub struct DevTokens {
    /// `alice`, a user without roles.
    pub user: String,
    /// `admin-alice`, a user with role `admin`.
    pub admin: String,
    /// `reporting-service`, a machine with scope `read:reports`.
    pub machine: String,
    /// `alice` again, signed in with a second factor (`acr` `urn:example:mfa`, `amr`
    /// `pwd otp`) when the issuer started: `/mfa` admits it for 5 minutes.
    pub mfa: String,
    /// With `AUTHZ_INTROSPECTION_CLIENT`: an opaque token for `alice`, which the service
    /// introspects at the development issuer (registered there with those credentials).
    pub opaque: Option<String>,
}

/// How long the printed tokens are valid.
const DEV_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Starts the development issuer, minting tokens for the first of `settings.audiences` if
/// any is configured (its default audience otherwise).
pub async fn start_dev_issuer(settings: &Settings) -> std::io::Result<MockIssuer> {
    let audience = settings
        .audiences
        .first()
        .map_or(DEFAULT_AUDIENCE, String::as_str);
    let issuer = MockIssuer::builder().audience(audience).start().await?;
    if let Some(introspection) = &settings.introspection {
        let (id, secret) = introspection.credentials();
        issuer.add_introspection_client(id, secret);
    }
    Ok(issuer)
}

/// Mints the printed tokens so that the configured classification recognises them: the
/// machine token follows the habits of the development issuer's preset, and carries
/// `AUTHZ_M2M_CLAIM: true` when that is set (users carry `false`); roles go in
/// `AUTHZ_ROLES_CLAIM`.
pub fn dev_tokens(
    issuer: &MockIssuer,
    settings: &Settings,
) -> Result<DevTokens, axum_principal_testkit::Error> {
    const CLIENT: &str = "reporting-service";
    // In development mode the first issuer is the development issuer.
    let fallback = IssuerSettings::default();
    let own = settings.issuers.first().unwrap_or(&fallback);
    let marked = |token: TokenBuilder, is_machine: bool| match &own.m2m_claim {
        Some(claim) => token.claim(claim, is_machine),
        None => token,
    };
    let user_token = |sub: &str| {
        issuer
            .token()
            .claim("sub", sub)
            // The client the user signed in through, as real access tokens name it.
            .claim("azp", "web-app")
            .claim("scope", "openid profile")
            .expires_in(DEV_TOKEN_LIFETIME_SECS)
    };

    let user = marked(user_token("alice"), false).try_sign()?;
    let mfa = marked(
        user_token("alice")
            .acr(crate::routes::MFA_ACR)
            .amr(["pwd", "otp"])
            .auth_time_in(0),
        false,
    )
    .try_sign()?;
    let opaque = settings
        .introspection
        .as_ref()
        .map(|_| marked(user_token("alice"), false).opaque());
    let admin = marked(
        // The full claim name is found first, so a dotted path works as a plain key too.
        user_token("admin-alice").claim(&own.roles_claim, ["admin"]),
        false,
    )
    .try_sign()?;

    let machine = issuer
        .token()
        .claim("scope", "read:reports")
        .expires_in(DEV_TOKEN_LIFETIME_SECS);
    let preset = own.provider.for_issuer(issuer.issuer());
    let machine = match preset {
        Preset::Auto | Preset::Rfc9068 | Preset::Generic | Preset::Hydra => {
            machine.claim("sub", CLIENT).claim("client_id", CLIENT)
        }
        // Cognito's client-credentials shape: `auth_time` equal to `iat`, `token_use: access`.
        Preset::Cognito => {
            let iat = machine.claims_json()["iat"].clone();
            machine
                .claim("sub", CLIENT)
                .claim("client_id", CLIENT)
                .claim("token_use", "access")
                .claim("auth_time", iat)
        }
        Preset::Auth0 => machine
            .claim("sub", format!("{CLIENT}@clients"))
            .claim("azp", CLIENT)
            .claim("gty", "client-credentials"),
        Preset::Keycloak => machine
            .claim("sub", "5f0c7a1e-2b8d-4c3e-9a6f-0d1e2f3a4b5c")
            .claim("azp", CLIENT)
            .claim("client_id", CLIENT)
            .claim("preferred_username", format!("service-account-{CLIENT}")),
        Preset::Okta => machine.claim("sub", CLIENT).claim("cid", CLIENT),
        Preset::Entra => machine
            .claim("sub", "7d3f9b2a-1c4e-4f6a-8b0d-2e5c7a9f1b3d")
            .claim("oid", "7d3f9b2a-1c4e-4f6a-8b0d-2e5c7a9f1b3d")
            .claim("idtyp", "app")
            .claim("azp", CLIENT),
        Preset::Duende => machine.without_claim("sub").claim("client_id", CLIENT),
    };
    let machine = marked(machine, true).try_sign()?;

    Ok(DevTokens {
        user,
        admin,
        machine,
        mfa,
        opaque,
    })
}

/// Where a client on this machine reaches an address we listen on (loopback for an
/// unspecified one); the gRPC example's banner uses it too.
pub fn client_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// Prints the development issuer, its tokens and `curl` lines for the service at `addr`.
pub fn print_dev_banner(issuer: &MockIssuer, tokens: &DevTokens, addr: SocketAddr) {
    let base = format!("http://{}", client_addr(addr));
    let curl = |token: &str, path: &str| {
        format!("curl -s -H \"Authorization: Bearer {token}\" {base}{path}")
    };
    let mut lines = vec![
        "Development mode: AUTHZ_ISSUER is not set, so an embedded mock issuer is running."
            .to_owned(),
        format!("issuer:   {}", issuer.issuer()),
        format!("audience: {}", issuer.audience()),
        format!("tokens are valid for {DEV_TOKEN_LIFETIME_SECS} seconds"),
        String::new(),
        format!("USER_TOKEN={}", tokens.user),
        format!("ADMIN_TOKEN={}", tokens.admin),
        format!("MACHINE_TOKEN={}", tokens.machine),
        format!("MFA_TOKEN={}", tokens.mfa),
        String::new(),
        "# health (no token needed): 200".to_owned(),
        format!("curl -s {base}/healthz"),
        "# who am I: 200, the principal as JSON".to_owned(),
        curl(&tokens.user, "/me"),
        curl(&tokens.machine, "/me"),
        "# /admin refuses a user without role admin: 403".to_owned(),
        format!(
            "curl -s -o /dev/null -w '%{{http_code}}\\n' -H \"Authorization: Bearer {}\" {base}/admin",
            tokens.user
        ),
        "# /admin admits a user with role admin, and any machine: 200".to_owned(),
        curl(&tokens.admin, "/admin"),
        curl(&tokens.machine, "/admin"),
        "# /machine admits machines, /user admits users, /reports needs read:reports".to_owned(),
        curl(&tokens.machine, "/machine"),
        curl(&tokens.user, "/user"),
        curl(&tokens.machine, "/reports"),
        "# /mfa needs an MFA sign-in at most 5 minutes old (step-up, RFC 9470): 200, and for"
            .to_owned(),
        "# the user token 401 insufficient_user_authentication with acr_values and max_age"
            .to_owned(),
        curl(&tokens.mfa, "/mfa"),
        format!(
            "curl -s -i -H \"Authorization: Bearer {}\" {base}/mfa",
            tokens.user
        ),
        "# no token: 401".to_owned(),
        format!("curl -s -i {base}/me"),
    ];
    if let Some(opaque) = &tokens.opaque {
        lines.push(
            "# an opaque token, introspected at the issuer (AUTHZ_INTROSPECTION_CLIENT): 200"
                .to_owned(),
        );
        lines.push(curl(opaque, "/me"));
    }
    println!("{}", lines.join("\n"));
}
