//! Table tests of classification: provider shapes, spoofs, presets.

use super::*;
use serde_json::json;
use ClassifiedBy as By;

fn classify(c: &Classifier, claims: &Value) -> Result<(Kind, String), InvalidToken> {
    let claims = claims
        .as_object()
        .cloned()
        .expect("test claims are a JSON object");
    c.classify(&claims)
        .map(|c| (c.kind, c.classified_by.to_string()))
}

/// Token shapes as the providers issue them (trimmed to the claims that matter), and the
/// spoofing shapes a user can bring about at each provider: every spoof stays a user.
#[test]
fn provider_token_shapes_and_spoofs() {
    let m = Kind::Machine;
    let u = Kind::User;
    let cases: Vec<(&str, Preset, Value, Kind, By)> = vec![
        // Auth0
        ("auth0 user", Preset::Auth0,
         json!({"sub":"auth0|5f7c8ec7c33c6c004bbafe82","azp":"AbC123","scope":"openid profile"}), u, By::Default),
        ("auth0 m2m", Preset::Auth0,
         json!({"sub":"Gdy3x5H1YpNhSqs7@clients","azp":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}), m, By::Auth0ClientSubject),
        ("auth0 m2m, RFC 9068 profile (client_id, no gty)", Preset::Auth0,
         json!({"sub":"Gdy3x5H1YpNhSqs7@clients","client_id":"Gdy3x5H1YpNhSqs7"}), m, By::Auth0ClientSubject),
        ("auth0 gty without the suffix", Preset::Auth0,
         json!({"sub":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}), m, By::Auth0GrantType),
        ("spoof: auth0 enterprise connection shapes sub as x@clients", Preset::Auth0,
         json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}), u, By::Default),
        ("spoof: auth0 sub <other client>@clients", Preset::Auth0,
         json!({"sub":"Gdy3x5H1YpNhSqs7@clients","azp":"AbC123"}), u, By::Default),
        ("spoof: auth0 @clients suffix without any client id", Preset::Auth0,
         json!({"sub":"x@clients"}), u, By::Default),
        ("spoof: auth0 connection sub equal to azp@clients but azp not a string", Preset::Auth0,
         json!({"sub":"AbC123@clients","azp":["AbC123"],"client_id":"AbC123"}), u, By::Default),
        ("auth0 passwordless user with @ in sub", Preset::Auth0,
         json!({"sub":"email|anon@clients.example.org","azp":"AbC123"}), u, By::Default),
        ("auth0 password grant user", Preset::Auth0,
         json!({"sub":"auth0|abc","gty":"password"}), u, By::Default),
        ("auth0 gty array is no grant type (a user, not a 401)", Preset::Auth0,
         json!({"sub":"auth0|abc","gty":["client-credentials"]}), u, By::Default),
        ("auth0 RFC 9068 user", Preset::Auth0,
         json!({"sub":"auth0|abc","client_id":"AbC123"}), u, By::Default),
        // Ory Hydra
        ("hydra m2m", Preset::Hydra,
         json!({"sub":"my-service","client_id":"my-service","scope":"read:reports"}), m, By::SubjectIsClientId),
        ("hydra user", Preset::Hydra,
         json!({"sub":"0b8a2f9e-6f7e-4c1e-9a53-2f1c3c6c9a11","client_id":"my-web-app"}), u, By::Default),
        ("hydra: azp equal to sub is not client_id", Preset::Hydra,
         json!({"sub":"alice","azp":"alice"}), u, By::Default),
        ("spoof: hydra user whose chosen subject equals a client id (the login is recorded)", Preset::Hydra,
         json!({"sub":"my-service","client_id":"my-service","auth_time":1_700_000_000,"amr":["pwd"]}), u, By::Default),
        ("spoof: rfc9068 user whose username equals the SPA's client id (sid)", Preset::Rfc9068,
         json!({"sub":"spa","client_id":"spa","sid":"s1"}), u, By::Default),
        ("hydra: numeric client_id does not fire", Preset::Hydra,
         json!({"sub":"7","client_id":7}), u, By::Default),
        // Cognito
        ("cognito m2m (auth_time == iat, as Cognito issues it)", Preset::Cognito,
         json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","token_use":"access","scope":"api/read","auth_time":1_633_781_133,"iat":1_633_781_133,"version":2}), m, By::CognitoClientCredentials),
        ("cognito user", Preset::Cognito,
         json!({"sub":"a1b2c3d4-0000-1111-2222-333344445555","client_id":"5r8k2b1m9qv0","username":"alice","token_use":"access"}), u, By::Default),
        ("cognito: sub == client_id but a username", Preset::Cognito,
         json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","username":"5r8k2b1m9qv0"}), u, By::Default),
        // Okta
        ("okta m2m", Preset::Okta,
         json!({"sub":"0oa1b2c3d4e5f6","cid":"0oa1b2c3d4e5f6","scp":["read:reports"]}), m, By::OktaClientCredentials),
        ("okta user", Preset::Okta,
         json!({"sub":"alice@example.com","cid":"0oa1b2c3d4e5f6","uid":"00u1abcd","scp":["openid"]}), u, By::Default),
        ("okta: sub == cid with uid", Preset::Okta,
         json!({"sub":"0oa1","cid":"0oa1","uid":"00u1"}), u, By::Default),
        // Keycloak
        ("keycloak service account (UUID sub, client_id claim)", Preset::Keycloak,
         json!({"sub":"3f1e7c5a-9d2b-4a8e-b6c1-0e9f8d7c6b5a","azp":"reporting-svc","client_id":"reporting-svc","preferred_username":"service-account-reporting-svc","realm_access":{"roles":["offline_access"]}}), m, By::KeycloakServiceAccount),
        ("keycloak user (UUID sub, azp)", Preset::Keycloak,
         json!({"sub":"7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d","azp":"web","preferred_username":"alice"}), u, By::Default),
        ("spoof: keycloak user registers service-account-x, logs in through the web client", Preset::Keycloak,
         json!({"sub":"7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d","azp":"web","preferred_username":"service-account-x"}), u, By::Default),
        ("spoof: keycloak brokered login named service-account-web for client web (no client_id)", Preset::Keycloak,
         json!({"sub":"7a6b5c4d","azp":"web","preferred_username":"service-account-web"}), u, By::Default),
        ("spoof: keycloak service-account- username of another client", Preset::Keycloak,
         json!({"sub":"7a6b5c4d","azp":"web","client_id":"web","preferred_username":"service-account-reporting-svc"}), u, By::Default),
        ("keycloak service account of a mixed-case client (usernames are lower case)", Preset::Keycloak,
         json!({"sub":"3f1e","azp":"Reporting-Svc","client_id":"Reporting-Svc","preferred_username":"service-account-reporting-svc"}), m, By::KeycloakServiceAccount),
        ("keycloak: numeric client_id does not fire", Preset::Keycloak,
         json!({"sub":"7a6b5c4d","client_id":5,"preferred_username":"service-account-5"}), u, By::Default),
        // Entra ID
        ("entra app token with idtyp", Preset::Entra,
         json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","idtyp":"app","azp":"11112222","roles":["Reports.Read.All"]}), m, By::EntraAppIdType),
        ("entra app token without idtyp", Preset::Entra,
         json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","azp":"11112222"}), m, By::EntraObjectIsSubject),
        ("entra user token", Preset::Entra,
         json!({"sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","oid":"00000000-0000-0000-66f3-3332eca7ea81","azp":"11112222","scp":"User.Read","preferred_username":"service-account-11112222"}), u, By::Default),
        // Duende
        ("duende m2m (no sub)", Preset::Duende,
         json!({"client_id":"reporting","scope":["api1"]}), m, By::ClientIdWithoutSubject),
        ("duende user", Preset::Duende,
         json!({"sub":"818727","client_id":"web","scope":["openid","api1"]}), u, By::Default),
        // RFC 9068
        ("rfc9068 client credentials (sub == client_id)", Preset::Rfc9068,
         json!({"sub":"svc","client_id":"svc"}), m, By::Rfc9068SubjectIsClientId),
        ("rfc9068 client_id without sub", Preset::Rfc9068,
         json!({"client_id":"svc"}), m, By::Rfc9068ClientIdWithoutSubject),
        ("rfc9068 user", Preset::Rfc9068,
         json!({"sub":"alice","client_id":"web"}), u, By::Default),
        ("spoof: rfc9068 ignores other providers' shapes", Preset::Rfc9068,
         json!({"sub":"x@clients","azp":"x","gty":"client-credentials","preferred_username":"service-account-x","idtyp":"app"}), u, By::Default),
    ];
    for (name, preset, claims, kind, by) in cases {
        let got = classify(&Classifier::new(preset), &claims);
        assert_eq!(got, Ok((kind, by.to_string())), "{name}");
    }
}

/// Under `generic` the spoofs still stay users: every rule is tied to the client
/// identity, whichever issuer the token comes from.
#[test]
fn generic_runs_every_rule_and_no_spoof_passes() {
    let c = Classifier::new(Preset::Generic);
    for spoof in [
        json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
        json!({"sub":"uuid","azp":"web","preferred_username":"service-account-x"}),
        json!({"sub":"uuid","azp":"web","preferred_username":"service-account-web"}),
        json!({"sub":"u","gty":5,"client_id":["svc"],"preferred_username":{"a":1}}),
    ] {
        assert_eq!(
            classify(&c, &spoof),
            Ok((Kind::User, "default:user".to_owned())),
            "{spoof}"
        );
    }
    let cases = [
        (
            json!({"sub":"a@clients","azp":"a"}),
            "auth0:sub-is-client-id@clients",
        ),
        (
            json!({"sub":"u1","client_id":"kc","preferred_username":"service-account-kc"}),
            "keycloak:service-account-of-client_id",
        ),
        (
            json!({"sub":"c","cid":"c"}),
            "okta:sub-equals-cid-without-uid",
        ),
        (json!({"sub":"o","oid":"o"}), "entra:oid-equals-sub"),
        (
            json!({"sub":"c","client_id":"c","username":"x"}),
            "hydra:sub-equals-client_id",
        ),
        (json!({"client_id":"c"}), "duende:client_id-without-sub"),
        // The documented widening: a Hydra-style user whose subject equals a client id and
        // whose token records the login passes Hydra's rule but not Cognito's.
        (
            json!({"sub":"c","client_id":"c","auth_time":1,"amr":["pwd"]}),
            "cognito:sub-equals-client_id-without-username",
        ),
    ];
    for (claims, by) in cases {
        assert_eq!(
            classify(&c, &claims),
            Ok((Kind::Machine, by.to_owned())),
            "{claims}"
        );
    }
}

#[test]
fn each_preset_has_only_its_own_rules() {
    let keycloak_sa =
        json!({"sub":"uuid","client_id":"x","preferred_username":"service-account-x"});
    assert_eq!(
        classify(&Classifier::new(Preset::Auth0), &keycloak_sa).map(|r| r.0),
        Ok(Kind::User)
    );
    let auth0_m2m = json!({"sub":"x@clients","azp":"x"});
    assert_eq!(
        classify(&Classifier::new(Preset::Keycloak), &auth0_m2m).map(|r| r.0),
        Ok(Kind::User)
    );
    let hydra_m2m = json!({"sub":"svc","client_id":"svc"});
    assert_eq!(
        classify(&Classifier::new(Preset::Okta), &hydra_m2m).map(|r| r.0),
        Ok(Kind::User)
    );
    assert_eq!(
        classify(&Classifier::without_rules(), &hydra_m2m).map(|r| r.0),
        Ok(Kind::User)
    );
}

#[test]
fn auto_follows_the_issuer_url() {
    let cases = [
        ("https://tenant.auth0.com/", Preset::Auth0),
        ("https://tenant.eu.auth0.com/", Preset::Auth0),
        ("https://TENANT.Auth0.com/", Preset::Auth0),
        ("https://evilauth0.com/", Preset::Rfc9068),
        ("https://auth0.com.evil.example/", Preset::Rfc9068),
        ("https://login.microsoftonline.com/tid/v2.0", Preset::Entra),
        ("https://sts.windows.net/tid/", Preset::Entra),
        (
            "https://login.microsoftonline.com.evil.example/tid/v2.0",
            Preset::Rfc9068,
        ),
        (
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            Preset::Cognito,
        ),
        (
            "https://s3.eu-west-1.amazonaws.com/cognito-idp",
            Preset::Rfc9068,
        ),
        ("https://dev-1.okta.com/oauth2/default", Preset::Okta),
        ("https://dev-1.oktapreview.com/oauth2/default", Preset::Okta),
        ("https://dev-1.okta-emea.com", Preset::Okta),
        ("https://project.projects.oryapis.com/", Preset::Hydra),
        ("https://sso.example.com/realms/staff", Preset::Keycloak),
        ("http://127.0.0.1:8080/realms/test", Preset::Keycloak),
        ("https://sso.example.com/realmsx", Preset::Rfc9068),
        ("https://issuer.example.com/", Preset::Rfc9068),
        ("http://127.0.0.1:4000", Preset::Rfc9068),
        ("not a url", Preset::Rfc9068),
    ];
    for (url, expected) in cases {
        assert_eq!(Preset::Auto.for_issuer(url), expected, "{url}");
    }
    assert_eq!(
        Preset::Generic.for_issuer("https://t.auth0.com/"),
        Preset::Generic
    );
    // Classifier::classify resolves `auto` from the verified `iss`.
    let c = Classifier::default();
    assert_eq!(
        classify(
            &c,
            &json!({"iss":"https://t.auth0.com/","sub":"a@clients","azp":"a"})
        ),
        Ok((Kind::Machine, "auth0:sub-is-client-id@clients".to_owned()))
    );
    assert_eq!(
        classify(
            &c,
            &json!({"iss":"https://other.example/","sub":"a@clients","azp":"a"})
        ),
        Ok((Kind::User, "default:user".to_owned()))
    );
}

#[test]
fn the_configured_claim_decides_and_must_be_boolean() {
    let c = Classifier::new(Preset::Auth0).machine_claim("https://example.com/is_m2m");
    let cases = [
        (
            json!({"sub":"svc@clients","azp":"svc","https://example.com/is_m2m":false}),
            Ok((
                Kind::User,
                "claim:https://example.com/is_m2m=false".to_owned(),
            )),
        ),
        (
            json!({"sub":"auth0|u","https://example.com/is_m2m":true}),
            Ok((
                Kind::Machine,
                "claim:https://example.com/is_m2m=true".to_owned(),
            )),
        ),
        (
            json!({"sub":"svc@clients","azp":"svc"}),
            Ok((Kind::Machine, "auth0:sub-is-client-id@clients".to_owned())),
        ),
        (
            json!({"sub":"u","https://example.com/is_m2m":"true"}),
            Err(InvalidToken::InvalidClaim),
        ),
        (
            json!({"sub":"u","https://example.com/is_m2m":1}),
            Err(InvalidToken::InvalidClaim),
        ),
        (
            json!({"sub":"u","https://example.com/is_m2m":null}),
            Err(InvalidToken::InvalidClaim),
        ),
    ];
    for (claims, expected) in cases {
        assert_eq!(classify(&c, &claims), expected, "{claims}");
    }
}

/// Only the configured claim must be a boolean: a claim a provider rule reads that has
/// another type makes the rule not fire (a user), never an error.
#[test]
fn claims_of_unexpected_types_make_rules_not_fire() {
    let c = Classifier::new(Preset::Generic);
    for claims in [
        json!({"sub":"u","gty":5}),
        json!({"sub":"svc","client_id":["svc"]}),
        json!({"sub":"u","client_id":"x","preferred_username":{"a":1}}),
        json!({"sub":"o","oid":7,"idtyp":["app"]}),
        json!({"sub":"c","cid":null}),
        json!({"client_id":{"id":"c"}}),
    ] {
        assert_eq!(
            classify(&c, &claims),
            Ok((Kind::User, "default:user".to_owned())),
            "{claims}"
        );
    }
}

#[test]
fn custom_rules_come_before_provider_rules() {
    let c = Classifier::new(Preset::Auth0)
        .rule(Rule::custom("robots", |c| {
            c.get("sub")?
                .as_str()?
                .starts_with("robot:")
                .then_some(Kind::Machine)
        }))
        .rule(Rule::custom("humans", |c| {
            (c.get("human")? == true).then_some(Kind::User)
        }));
    assert_eq!(
        classify(&c, &json!({"sub":"robot:7"})),
        Ok((Kind::Machine, "custom:robots".into()))
    );
    assert_eq!(
        classify(&c, &json!({"sub":"x@clients","azp":"x","human":true})),
        Ok((Kind::User, "custom:humans".into()))
    );
    assert_eq!(
        classify(&c, &json!({"sub":"alice"})),
        Ok((Kind::User, "default:user".into()))
    );
}

#[test]
fn preset_names_parse() {
    for p in Preset::ALL {
        assert_eq!(p.as_str().parse::<Preset>(), Ok(p));
    }
    assert_eq!(" AUTO ".parse::<Preset>(), Ok(Preset::Auto));
    assert!("auth1".parse::<Preset>().is_err());
}

/// `sub_profile` (draft-mora-oauth-entity-profiles) decides after the custom claim and before
/// custom rules and every preset's rules.
#[test]
fn entity_profiles_decide_after_the_claim_before_rules() {
    let m = Kind::Machine;
    let u = Kind::User;
    let always_user = Rule::custom("always-user", |_| Some(Kind::User));
    type Case = (
        &'static str,
        Classifier,
        Value,
        Result<(Kind, &'static str), InvalidToken>,
    );
    let cases: Vec<Case> = vec![
        (
            "user",
            Classifier::new(Preset::Generic),
            json!({"sub":"c","client_id":"c","sub_profile":"user"}),
            Ok((u, "profile:user")),
        ),
        (
            "service",
            Classifier::new(Preset::Rfc9068),
            json!({"sub":"alice","sub_profile":"service"}),
            Ok((m, "profile:service")),
        ),
        (
            "device",
            Classifier::without_rules(),
            json!({"sub":"d","sub_profile":"device"}),
            Ok((m, "profile:device")),
        ),
        (
            "ai_agent before a custom rule",
            Classifier::new(Preset::Auth0).rule(always_user.clone()),
            json!({"sub":"agent","sub_profile":"ai_agent"}),
            Ok((m, "profile:ai_agent")),
        ),
        (
            "unknown value: no decision",
            Classifier::new(Preset::Hydra),
            json!({"sub":"c","client_id":"c","sub_profile":"robot"}),
            Ok((m, "hydra:sub-equals-client_id")),
        ),
        (
            "case matters",
            Classifier::new(Preset::Rfc9068),
            json!({"sub":"u","sub_profile":"Service"}),
            Ok((u, "default:user")),
        ),
        (
            "array: no decision",
            Classifier::new(Preset::Rfc9068),
            json!({"sub":"u","sub_profile":["service"]}),
            Ok((u, "default:user")),
        ),
        (
            "number: no decision",
            Classifier::new(Preset::Rfc9068).rule(always_user),
            json!({"sub":"u","sub_profile":1}),
            Ok((u, "custom:always-user")),
        ),
        (
            "the custom claim comes first",
            Classifier::new(Preset::Rfc9068).machine_claim("m2m"),
            json!({"sub":"u","m2m":false,"sub_profile":"ai_agent"}),
            Ok((u, "claim:m2m=false")),
        ),
        (
            "a bad custom claim is still an error",
            Classifier::new(Preset::Rfc9068).machine_claim("m2m"),
            json!({"sub":"u","m2m":"yes","sub_profile":"user"}),
            Err(InvalidToken::InvalidClaim),
        ),
    ];
    for (name, classifier, claims, expected) in cases {
        let got = classify(&classifier, &claims);
        let expected = expected.map(|(k, by)| (k, by.to_owned()));
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn an_issuers_own_machine_claim_replaces_the_classifiers() {
    let classifier = Classifier::new(Preset::Rfc9068).machine_claim("global");
    let claims = json!({"sub":"u","global":true,"own":false});
    let claims = claims.as_object().expect("an object");
    let own: Arc<str> = Arc::from("own");
    let c = classifier
        .classify_for_issuer(Some(Preset::Rfc9068), Some(&own), claims)
        .expect("classifies");
    assert_eq!(
        (c.kind, c.classified_by.to_string()),
        (Kind::User, "claim:own=false".to_owned())
    );
    let c = classifier
        .classify_for_issuer(Some(Preset::Rfc9068), None, claims)
        .expect("classifies");
    assert_eq!(c.kind, Kind::Machine);
}
