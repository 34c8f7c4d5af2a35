//! Settings: defaults, every variable, and each mistake naming its variable.

use axum_principal::Preset;
use axum_principal_example::{auth_config, settings_from, ConfigProblem, IssuerSettings, Settings};

use crate::support::*;

fn problem(vars: &[(&str, &str)]) -> ConfigProblem {
    settings(vars).expect_err("a configuration error")
}

/// Each issuer's URL, preset, machine claim and roles claim, in `AUTHZ_ISSUER` order.
fn per_issuer(s: &Settings) -> Vec<(Option<&str>, Preset, Option<&str>, &str)> {
    s.issuers
        .iter()
        .map(|i| {
            (
                i.url.as_deref(),
                i.provider,
                i.m2m_claim.as_deref(),
                i.roles_claim.as_str(),
            )
        })
        .collect()
}

fn providers(s: &Settings) -> Vec<Preset> {
    s.issuers.iter().map(|i| i.provider).collect()
}

#[test]
fn defaults_match_the_contract() {
    let s = settings(&[]).expect("the empty environment is valid");
    assert_eq!(s.bind.to_string(), "127.0.0.1:3000");
    assert!(s.dev_mode());
    // Development mode: the development issuer alone, with every default.
    assert_eq!(s.issuers, [IssuerSettings::default()]);
    assert_eq!(per_issuer(&s), [(None, Preset::Auto, None, "roles")]);
    assert_eq!(s.jwks_uri, None);
    assert_eq!(s.leeway.as_secs(), 60);
}

#[test]
fn every_variable_is_read() {
    let s = settings(&[
        ("BIND", "0.0.0.0:8080"),
        (
            "AUTHZ_ISSUER",
            "https://a.example.com/, https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "api-1,api-2"),
        ("AUTHZ_M2M_CLAIM", "https://example.com/is_m2m"),
        ("AUTHZ_ROLES_CLAIM", "realm_access.roles"),
        ("AUTHZ_PROVIDER", "Keycloak"),
        ("AUTHZ_LEEWAY_SECS", "5"),
    ])
    .expect("every variable set validly");
    assert_eq!(s.bind.to_string(), "0.0.0.0:8080");
    assert!(!s.dev_mode());
    // One value of a per-issuer variable applies to every issuer.
    let m2m = Some("https://example.com/is_m2m");
    assert_eq!(
        per_issuer(&s),
        [
            (
                Some("https://a.example.com/"),
                Preset::Keycloak,
                m2m,
                "realm_access.roles"
            ),
            (
                Some("https://b.example.com"),
                Preset::Keycloak,
                m2m,
                "realm_access.roles"
            ),
        ]
    );
    assert_eq!(s.audiences, ["api-1", "api-2"]);
    assert_eq!(s.leeway.as_secs(), 5);
    let config = auth_config(&s, None).expect("a valid configuration");
    assert_eq!(
        config.issuers().collect::<Vec<_>>(),
        ["https://a.example.com/", "https://b.example.com"]
    );
    assert_eq!(config.audiences(), ["api-1", "api-2"]);
}

#[test]
fn missing_audience_names_authz_audience() {
    let p = problem(&[("AUTHZ_ISSUER", "https://issuer.example.com")]);
    assert_eq!(p.variable, "AUTHZ_AUDIENCE");
    assert_eq!(
        p.to_string(),
        "AUTHZ_AUDIENCE: required when AUTHZ_ISSUER is set"
    );
    let p = problem(&[
        ("AUTHZ_ISSUER", "https://issuer.example.com"),
        ("AUTHZ_AUDIENCE", " , "),
    ]);
    assert_eq!(p.variable, "AUTHZ_AUDIENCE");
}

#[test]
fn unknown_provider_names_authz_provider() {
    let p = problem(&[("AUTHZ_PROVIDER", "ping")]);
    assert_eq!(p.variable, "AUTHZ_PROVIDER");
    assert!(p.message.contains("ping"), "{p}");
    assert!(p.to_string().starts_with("AUTHZ_PROVIDER: "), "{p}");
}

#[test]
fn bad_leeway_names_authz_leeway_secs() {
    for bad in ["soon", "-5", "1.5", "60s"] {
        let p = problem(&[("AUTHZ_LEEWAY_SECS", bad)]);
        assert_eq!(p.variable, "AUTHZ_LEEWAY_SECS", "{bad}");
    }
}

#[test]
fn token_cache_switch_is_on_or_off() {
    let p = problem(&[("AUTHZ_TOKEN_CACHE", "maybe")]);
    assert_eq!(p.variable, "AUTHZ_TOKEN_CACHE");
    let on = settings_from(|_| None).map(|s| s.token_cache);
    assert_eq!(on.ok(), Some(true));
    let off = settings_from(|k| (k == "AUTHZ_TOKEN_CACHE").then(|| "off".to_owned()))
        .map(|s| s.token_cache);
    assert_eq!(off.ok(), Some(false));
}

#[test]
fn plain_http_issuer_off_loopback_names_authz_issuer() {
    let p = problem(&[
        ("AUTHZ_ISSUER", "http://issuer.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ]);
    assert_eq!(p.variable, "AUTHZ_ISSUER");
    assert!(p.message.contains("https"), "{p}");
    // Loopback http is fine.
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:8080/realms/x",
        "http://[::1]:9",
    ] {
        assert!(
            settings(&[("AUTHZ_ISSUER", ok), ("AUTHZ_AUDIENCE", "api")]).is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn unparsable_issuer_names_authz_issuer() {
    let p = problem(&[("AUTHZ_ISSUER", "not a url"), ("AUTHZ_AUDIENCE", "api")]);
    assert_eq!(p.variable, "AUTHZ_ISSUER");
}

#[test]
fn jwks_uri_with_two_issuers_names_authz_jwks_uri() {
    let p = problem(&[
        (
            "AUTHZ_ISSUER",
            "https://a.example.com,https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "https://a.example.com/jwks"),
    ]);
    assert_eq!(p.variable, "AUTHZ_JWKS_URI");
    // With a single issuer it is accepted and used.
    let s = settings(&[
        ("AUTHZ_ISSUER", "https://a.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "https://a.example.com/jwks"),
    ])
    .expect("a JWKS URL with a single issuer is valid");
    assert_eq!(s.jwks_uri.as_deref(), Some("https://a.example.com/jwks"));
    assert!(auth_config(&s, None).is_ok());
}

#[test]
fn insecure_jwks_uri_names_authz_jwks_uri() {
    let p = problem(&[
        ("AUTHZ_ISSUER", "https://a.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "http://keys.example.com/jwks"),
    ]);
    assert_eq!(p.variable, "AUTHZ_JWKS_URI");
}

#[test]
fn bad_bind_names_bind() {
    for bad in ["3000", "127.0.0.1", "nowhere:80", "127.0.0.1:99999"] {
        assert_eq!(problem(&[("BIND", bad)]).variable, "BIND", "{bad}");
    }
}

#[test]
fn bad_roles_claim_names_authz_roles_claim() {
    assert_eq!(
        problem(&[("AUTHZ_ROLES_CLAIM", "realm_access..roles")]).variable,
        "AUTHZ_ROLES_CLAIM"
    );
}

#[test]
fn empty_values_count_as_unset() {
    let s = settings(&[("AUTHZ_ISSUER", ""), ("AUTHZ_PROVIDER", " "), ("BIND", "")])
        .expect("empty values are ignored");
    assert!(s.dev_mode());
    assert_eq!(providers(&s), [Preset::Auto]);
}

#[test]
fn provider_list_gives_one_preset_per_issuer_in_order() {
    let issuers = (
        "AUTHZ_ISSUER",
        "https://t.auth0.com/,https://sso.example.com/realms/s",
    );
    let audience = ("AUTHZ_AUDIENCE", "api");
    let s = settings(&[issuers, audience, ("AUTHZ_PROVIDER", "auth0, keycloak")])
        .expect("a list as long as AUTHZ_ISSUER is valid");
    assert_eq!(providers(&s), [Preset::Auth0, Preset::Keycloak]);
    let s = settings(&[issuers, audience]).expect("unset is valid");
    assert_eq!(providers(&s), [Preset::Auto, Preset::Auto]);
    for wrong in ["auth0,keycloak,okta", "auth0,,keycloak"] {
        let p = problem(&[issuers, audience, ("AUTHZ_PROVIDER", wrong)]);
        assert_eq!(p.variable, "AUTHZ_PROVIDER", "{wrong}");
    }
    let p = problem(&[issuers, audience, ("AUTHZ_PROVIDER", "auth0,nope")]);
    assert_eq!(p.variable, "AUTHZ_PROVIDER");
}

#[test]
fn dev_mode_off_loopback_refuses_naming_authz_issuer_unless_authz_dev_is_1() {
    for bind in [
        "0.0.0.0:3000",
        "[::]:3000",
        "192.168.1.10:3000",
        "[::ffff:10.0.0.1]:3000",
    ] {
        let p = problem(&[("BIND", bind)]);
        assert_eq!(p.variable, "AUTHZ_ISSUER", "{bind}: {p}");
        // The bind address as parsed (the same text for these).
        let shown = bind
            .parse::<std::net::SocketAddr>()
            .expect("a socket address");
        assert_eq!(
            p.to_string(),
            format!(
                "AUTHZ_ISSUER: not set, and BIND={shown} is not loopback: set AUTHZ_ISSUER \
                 (and AUTHZ_AUDIENCE) for a real issuer, or AUTHZ_DEV=1 to run the \
                 development issuer anyway"
            ),
            "{bind}"
        );
        assert!(!p.to_string().contains('\n'), "one line: {p}");
        // AUTHZ_DEV=0 is the same as unset.
        let p = problem(&[("BIND", bind), ("AUTHZ_DEV", "0")]);
        assert_eq!(p.variable, "AUTHZ_ISSUER", "{bind}: {p}");
        // AUTHZ_DEV=1: development mode on that address after all.
        let s = settings(&[("BIND", bind), ("AUTHZ_DEV", "1")])
            .expect("AUTHZ_DEV=1 allows development mode on any BIND");
        assert!(s.dev_mode(), "{bind}");
        assert_eq!(s.bind, shown, "{bind}");
    }
}

#[test]
fn dev_mode_on_loopback_needs_no_authz_dev() {
    for (bind, parsed) in [
        ("127.0.0.1:3000", "127.0.0.1:3000"),
        ("127.0.0.2:3000", "127.0.0.2:3000"),
        ("[::1]:3000", "[::1]:3000"),
        ("localhost:3000", "127.0.0.1:3000"),
        ("[::ffff:127.0.0.1]:3000", "[::ffff:127.0.0.1]:3000"),
    ] {
        let s = settings(&[("BIND", bind)]).expect("development mode may listen on loopback");
        assert!(s.dev_mode(), "{bind}");
        assert_eq!(s.bind.to_string(), parsed, "{bind}");
    }
}

#[test]
fn a_real_issuer_may_listen_anywhere_and_authz_dev_must_be_0_or_1() {
    let s = settings(&[
        ("BIND", "0.0.0.0:3000"),
        ("AUTHZ_ISSUER", "https://issuer.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ])
    .expect("a real issuer needs no loopback BIND");
    assert!(!s.dev_mode());
    for bad in ["yes", "true", "2"] {
        let p = problem(&[("BIND", "0.0.0.0:3000"), ("AUTHZ_DEV", bad)]);
        assert_eq!(p.variable, "AUTHZ_DEV", "{bad}: {p}");
        assert!(p.message.contains(bad), "{p}");
    }
}

/// `AUTHZ_ISSUER` set to separators only (a template whose parts were empty) is a mistake,
/// never development mode (which prints working tokens).
#[test]
fn authz_issuer_naming_no_url_is_an_error_not_dev_mode() {
    for value in [",", " , ", ",,"] {
        let p = problem(&[("AUTHZ_ISSUER", value), ("AUTHZ_DEV", "1")]);
        assert_eq!(p.variable, "AUTHZ_ISSUER", "{value:?}");
    }
}

/// With several `AUTHZ_ISSUER` entries, each per-issuer list entry stays with its issuer:
/// the i-th preset, machine claim and roles claim belong to the i-th URL (an empty claim
/// entry: none, and `roles`), whatever the other lists hold.
#[test]
fn per_issuer_lists_stay_paired_with_their_issuer() {
    let s = settings(&[
        (
            "AUTHZ_ISSUER",
            "https://t.auth0.com/, https://sso.example.com/realms/s ,https://x.okta.com",
        ),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_PROVIDER", "auth0,keycloak,okta"),
        ("AUTHZ_M2M_CLAIM", "https://a/m2m, ,https://c/m2m"),
        ("AUTHZ_ROLES_CLAIM", ",realm_access.roles,groups"),
    ])
    .expect("three lists as long as AUTHZ_ISSUER are valid");
    assert_eq!(
        per_issuer(&s),
        [
            (
                Some("https://t.auth0.com/"),
                Preset::Auth0,
                Some("https://a/m2m"),
                "roles"
            ),
            (
                Some("https://sso.example.com/realms/s"),
                Preset::Keycloak,
                None,
                "realm_access.roles"
            ),
            (
                Some("https://x.okta.com"),
                Preset::Okta,
                Some("https://c/m2m"),
                "groups"
            ),
        ]
    );
    // A list one entry short names its variable.
    for variable in ["AUTHZ_M2M_CLAIM", "AUTHZ_ROLES_CLAIM"] {
        let p = problem(&[
            (
                "AUTHZ_ISSUER",
                "https://a.example.com,https://b.example.com",
            ),
            ("AUTHZ_AUDIENCE", "api"),
            (variable, "x,y,z"),
        ]);
        assert_eq!(p.variable, variable);
    }
}

/// URLs are checked by the library's own rule ([`validate_url`]): the same verdict and
/// the same words, under the variable that holds the URL.
#[test]
fn urls_follow_the_librarys_rule_and_name_their_variable() {
    use axum_principal::config::validate_url;
    for url in [
        "not a url",
        "http://issuer.example.com",
        "ftp://127.0.0.1/",
        "http://user:s3cret@10.0.0.1/",
    ] {
        let expected = validate_url(url).expect_err(url).to_string();
        assert!(!expected.contains("s3cret"), "{expected}");
        let issuer = problem(&[("AUTHZ_ISSUER", url), ("AUTHZ_AUDIENCE", "api")]);
        assert_eq!(
            (issuer.variable, issuer.message.as_str()),
            ("AUTHZ_ISSUER", &*expected)
        );
        let jwks = problem(&[
            ("AUTHZ_ISSUER", "https://a.example.com"),
            ("AUTHZ_AUDIENCE", "api"),
            ("AUTHZ_JWKS_URI", url),
        ]);
        assert_eq!(
            (jwks.variable, jwks.message.as_str()),
            ("AUTHZ_JWKS_URI", &*expected)
        );
        let resource = problem(&[("AUTHZ_RESOURCE", url)]);
        assert_eq!(
            (resource.variable, resource.message.as_str()),
            ("AUTHZ_RESOURCE", &*expected)
        );
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://[::1]:9",
        "https://a.example.com",
    ] {
        validate_url(url).expect(url);
        settings(&[("AUTHZ_ISSUER", url), ("AUTHZ_AUDIENCE", "api")]).expect(url);
    }
}
