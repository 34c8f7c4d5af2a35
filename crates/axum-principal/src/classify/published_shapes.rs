//! Every preset's machine and user access tokens as their providers publish them (in their
//! documentation, or as a token the provider issued, quoted publicly), each classified under
//! its own preset, under `auto` with the provider's issuer URL, and under `generic`: the kind
//! and the recorded rule. Long values are shortened with `…`; every claim is kept.

use super::*;
use serde_json::json;
use ClassifiedBy as By;

/// One published token shape and what each classifier must make of it.
struct Shape {
    name: &'static str,
    preset: Preset,
    /// The issuer `auto` resolves (the token's own `iss` where it carries one).
    issuer: &'static str,
    /// The preset `auto` picks for `issuer`.
    auto_preset: Preset,
    claims: Value,
    kind: Kind,
    own: By,
    auto: By,
    generic: By,
}

fn shapes() -> Vec<Shape> {
    let (m, u) = (Kind::Machine, Kind::User);
    vec![
        // Auth0 client-credentials token from an Auth0 tenant, quoted in redpanda-data/redpanda
        // src/v/security/oidc_authenticator.cc; the `sub` (client id + `@clients`) and `azp`
        // forms are those of auth0.com/docs/secure/tokens/access-tokens/access-token-profiles.
        Shape {
            name: "auth0 machine",
            preset: Preset::Auth0,
            issuer: "https://dev-ltxchcls4igzho78.us.auth0.com/",
            auto_preset: Preset::Auth0,
            claims: json!({"iss":"https://dev-ltxchcls4igzho78.us.auth0.com/","sub":"3JJeI4tmMC6v8mCVCSDnAGVf2vrnJ0BT@clients","aud":"localhost","iat":1_694_008_485,"exp":1_694_094_885,"azp":"3JJeI4tmMC6v8mCVCSDnAGVf2vrnJ0BT","gty":"client-credentials"}),
            kind: m,
            own: By::Auth0ClientSubject,
            auto: By::Auth0ClientSubject,
            generic: By::Auth0ClientSubject,
        },
        // Auth0 docs, "Access Token Profiles": "Auth0 profile sample token".
        Shape {
            name: "auth0 user (Auth0 profile)",
            preset: Preset::Auth0,
            issuer: "https://my-domain.auth0.com/",
            auto_preset: Preset::Auth0,
            claims: json!({"iss":"https://my-domain.auth0.com/","sub":"auth0|123456","aud":["https://example.com/health-api","https://my-domain.auth0.com/userinfo"],"azp":"my_client_id","exp":1_311_281_970,"iat":1_311_280_970,"scope":"openid profile read:patients read:admin","my_custom_claim":"my_custom_value"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // Auth0 docs, "Access Token Profiles": "RFC 9068 profile sample token".
        Shape {
            name: "auth0 user (RFC 9068 profile)",
            preset: Preset::Auth0,
            issuer: "https://my-domain.auth0.com/",
            auto_preset: Preset::Auth0,
            claims: json!({"iss":"https://my-domain.auth0.com/","sub":"auth0|123456","aud":["https://example.com/health-api","https://my-domain.auth0.com/userinfo"],"client_id":"my_client_id","exp":1_311_281_970,"iat":1_311_280_970,"jti":"73WakrfVbNJBaAmhQtEeDv","scope":"openid profile read:patients read:admin","my_custom_claim":"my_custom_value"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // Okta developer blog, "Modern Token Authentication in Node with Express"
        // (oktadeveloper/okta-blog): a client-credentials token from a custom authorization
        // server, decoded.
        Shape {
            name: "okta machine",
            preset: Preset::Okta,
            issuer: "https://dev-819633.oktapreview.com/oauth2/default",
            auto_preset: Preset::Okta,
            claims: json!({"ver":1,"jti":"AT.u_OOxGzWwTcDYlxfpp5X_3quR0vRnsnXmwLfWtL1cto","iss":"https://dev-819633.oktapreview.com/oauth2/default","aud":"api://default","iat":1_546_726_228,"exp":1_546_729_974,"cid":"0oaiox8bmsBKVXku30h7","scp":["customScope"],"sub":"0oaiox8bmsBKVXku30h7"}),
            kind: m,
            own: By::OktaClientCredentials,
            auto: By::OktaClientCredentials,
            generic: By::OktaClientCredentials,
        },
        // Okta OIDC & OAuth 2.0 API reference (okta/okta-developer-docs), "Access token
        // payload"; its `{yourOktaDomain}` issuer written as the reference's earlier
        // `https://your-org.okta.com/oauth2/0oacqf8qaJw56czJi0g4`.
        Shape {
            name: "okta user",
            preset: Preset::Okta,
            issuer: "https://your-org.okta.com/oauth2/0oacqf8qaJw56czJi0g4",
            auto_preset: Preset::Okta,
            claims: json!({"ver":1,"jti":"AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE","iss":"https://your-org.okta.com/oauth2/0oacqf8qaJw56czJi0g4","aud":"https://api.example.com","sub":"00ujmkLgagxeRrAg20g3","iat":1_467_145_094,"exp":1_467_148_694,"cid":"nmdP1fcyvdVO11AL7ECm","uid":"00ujmkLgagxeRrAg20g3","scp":["openid","email","flights","custom"],"auth_time":1_467_142_021,"custom_claim":"CustomValue"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // A v1.0 app-only token from Entra's token endpoint (client credentials), decoded in
        // ncrtc/azure-api-management-auth-demo README.md: no `idtyp`, `oid == sub`.
        Shape {
            name: "entra v1 app-only",
            preset: Preset::Entra,
            issuer: "https://sts.windows.net/2e433799-9cb5-4258-956b-1253c4de44dc/",
            auto_preset: Preset::Entra,
            claims: json!({"aud":"api://c8c86576-bffa-4db5-bf90-bba8ffa4b832","iss":"https://sts.windows.net/2e433799-9cb5-4258-956b-1253c4de44dc/","iat":1_589_303_668,"nbf":1_589_303_668,"exp":1_589_307_568,"aio":"42dgYFjhs6riwK2a6YwZCSXMbzJ0AA==","appid":"f3d44fcd-8d03-4940-810c-92c12f544138","appidacr":"1","idp":"https://sts.windows.net/2e433799-9cb5-4258-956b-1253c4de44dc/","oid":"abc63196-7699-450a-bcae-a229db5d5e27","sub":"abc63196-7699-450a-bcae-a229db5d5e27","tid":"2e433799-9cb5-4258-956b-1253c4de44dc","uti":"Nbuhsed840yjksE5PFHgAA","ver":"1.0"}),
            kind: m,
            own: By::EntraObjectIsSubject,
            auto: By::EntraObjectIsSubject,
            generic: By::EntraObjectIsSubject,
        },
        // A v2.0 app-only token (`idtyp: app`, and here `oid != sub`: an agent-identity
        // blueprint's), "Token1" in agnte/Rido.BFLite AgenticTokens2.md.
        Shape {
            name: "entra v2 app-only",
            preset: Preset::Entra,
            issuer: "https://login.microsoftonline.com/5369a35c-46a5-4677-8ff9-2e65587654e7/v2.0",
            auto_preset: Preset::Entra,
            claims: json!({"aud":"fb60f99c-7a34-4190-8149-302f77469936","iss":"https://login.microsoftonline.com/5369a35c-46a5-4677-8ff9-2e65587654e7/v2.0","iat":1_760_989_448,"nbf":1_760_989_448,"exp":1_760_993_348,"aio":"ASQA2/8a…","azp":"9d17cc32-c91b-4368-8494-1b29ccb0dbcf","azpacr":"1","idtyp":"app","oid":"8b9ea2e4-534a-46bb-b3c7-4027969d271c","rh":"1.AVkB…","sub":"/eid1/c/pub/t/XKNpU6VGd0aP-S5lWHZU5w/a/MswXnRvJaEOElBspzLDbzw/5081ddac-3d33-4766-98fe-80c38c5ce554","tid":"5369a35c-46a5-4677-8ff9-2e65587654e7","uti":"LN7nwwjv-k-A2Hjlv8sKAA","ver":"2.0","xms_act_fct":"1 9","xms_ficinfo":"CAAQABgAIAAoAjAA","xms_ftd":"Nzul…","xms_idrel":"7 26","xms_sub_fct":"1 9"}),
            kind: m,
            own: By::EntraAppIdType,
            auto: By::EntraAppIdType,
            generic: By::EntraAppIdType,
        },
        // Microsoft Learn, "Access tokens in the Microsoft identity platform": the v1.0
        // sample token (MicrosoftDocs/entra-docs docs/identity-platform/access-tokens.md),
        // decoded.
        Shape {
            name: "entra v1 delegated user",
            preset: Preset::Entra,
            issuer: "https://sts.windows.net/fa15d692-e9c7-4460-a743-29f29522229/",
            auto_preset: Preset::Entra,
            claims: json!({"aud":"ef1da9d4-ff77-4c3e-a005-840c3f830745","iss":"https://sts.windows.net/fa15d692-e9c7-4460-a743-29f29522229/","iat":1_537_233_106,"nbf":1_537_233_106,"exp":1_537_237_006,"acr":"1","aio":"AXQAi/8IAAAAFm+E…","amr":["wia"],"appid":"75dbe77f-10a3-4e59-85fd-8c127544f17c","appidacr":"0","email":"AbeLi@microsoft.com","family_name":"Lincoln","given_name":"Abe (MSFT)","idp":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd0122247/","ipaddr":"222.222.222.22","name":"abeli","oid":"02223b6b-aa1d-42d4-9ec0-1b2bb9194438","rh":"I","scp":"user_impersonation","sub":"l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA","tid":"fa15d692-e9c7-4460-a743-29f2956fd429","unique_name":"abeli@microsoft.com","uti":"FVsGxYXI30-TuikuuUoFAA","ver":"1.0"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // Microsoft Learn, "Access tokens in the Microsoft identity platform": the v2.0
        // sample token, decoded.
        Shape {
            name: "entra v2 delegated user",
            preset: Preset::Entra,
            issuer: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            auto_preset: Preset::Entra,
            claims: json!({"aud":"6e74172b-be56-4843-9ff4-e66a39bb12e3","iss":"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0","iat":1_537_231_048,"nbf":1_537_231_048,"exp":1_537_234_948,"aio":"AXQAi/8IAAAAtAaZ…","azp":"6e74172b-be56-4843-9ff4-e66a39bb12e3","azpacr":"0","name":"Abe Lincoln","oid":"690222be-ff1a-4d56-abd1-7e4f7d38e474","preferred_username":"abeli@microsoft.com","rh":"I","scp":"access_as_user","sub":"HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","uti":"fqiBqXLPj0eQa82S-IYFAA","ver":"2.0"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // A token from Cognito's token endpoint (client_credentials grant) as quoted in issue
        // 18 (values redacted there as `xxx`/`zzz`); its original page is not in the search
        // corpora. `auth_time` equals `iat`: AWS documents `auth_time` on every access token
        // (docs.aws.amazon.com/cognito/latest/developerguide/
        // amazon-cognito-user-pools-using-the-access-token.html).
        Shape {
            name: "cognito machine",
            preset: Preset::Cognito,
            issuer: "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_zzz",
            auto_preset: Preset::Cognito,
            claims: json!({"sub":"xxx","token_use":"access","scope":"sample/read","auth_time":1_633_781_133,"iss":"https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_zzz","exp":1_633_784_733,"iat":1_633_781_133,"version":2,"jti":"39cdbc77-…","client_id":"xxx"}),
            kind: m,
            own: By::CognitoClientCredentials,
            auto: By::CognitoClientCredentials,
            generic: By::CognitoClientCredentials,
        },
        // Amazon Cognito Developer Guide, "Using the access token": the sample payload
        // (awsdocs/amazon-cognito-developer-guide).
        Shape {
            name: "cognito user",
            preset: Preset::Cognito,
            issuer: "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_example",
            auto_preset: Preset::Cognito,
            claims: json!({"sub":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","device_key":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","cognito:groups":["admin"],"token_use":"access","scope":"aws.cognito.signin.user.admin","auth_time":1_562_190_524,"iss":"https://cognito-idp.us-west-2.amazonaws.com/us-west-2_example","exp":1_562_194_124,"iat":1_562_190_524,"origin_jti":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","jti":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","client_id":"57cbishk4j24pabc1234567890","username":"janedoe@example.com"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // A Keycloak client-credentials token, quoted in lakekeeper/lakekeeper's authn tests
        // (`test_payload_keycloak_machine`).
        Shape {
            name: "keycloak machine",
            preset: Preset::Keycloak,
            issuer: "http://keycloak:8080/realms/iceberg",
            auto_preset: Preset::Keycloak,
            claims: json!({"exp":1_730_050_563,"iat":1_730_050_563,"jti":"b1e96701-b718-4714-88a2-d25d985c38ed","iss":"http://keycloak:8080/realms/iceberg","aud":["iceberg-catalog","account"],"sub":"b6cc7aa0-1af0-460e-9174-e05c881fb6d4","typ":"Bearer","azp":"iceberg-machine-client","acr":"1","allowed-origins":["/*"],"realm_access":{"roles":["offline_access","uma_authorization","default-roles-iceberg"]},"resource_access":{"iceberg-machine-client":{"roles":["uma_protection"]},"account":{"roles":["manage-account","manage-account-links","view-profile"]}},"scope":"email profile","clientHost":"10.89.0.2","email_verified":false,"preferred_username":"service-account-iceberg-machine-client","clientAddress":"10.89.0.2","client_id":"iceberg-machine-client"}),
            kind: m,
            own: By::KeycloakServiceAccount,
            auto: By::KeycloakServiceAccount,
            generic: By::KeycloakServiceAccount,
        },
        // A Keycloak user token from the same tests (`test_payload_keycloak_human`).
        Shape {
            name: "keycloak user",
            preset: Preset::Keycloak,
            issuer: "http://localhost:30080/realms/iceberg",
            auto_preset: Preset::Keycloak,
            claims: json!({"exp":1_729_990_458,"iat":1_729_990_158,"jti":"97cdc5d9-8717-4826-a425-30c6682342b4","iss":"http://localhost:30080/realms/iceberg","aud":"account","sub":"f1616ed0-18d8-48ea-9fb3-832f42db0b1b","typ":"Bearer","azp":"iceberg-catalog","sid":"6f2ca33d-2513-43fe-ab53-4a945c78a66d","acr":"1","allowed-origins":["*"],"realm_access":{"roles":["offline_access","uma_authorization","default-roles-iceberg"]},"resource_access":{"account":{"roles":["manage-account","manage-account-links","view-profile"]}},"scope":"openid email profile","email_verified":true,"name":"Peter Cold","preferred_username":"peter","given_name":"Peter","family_name":"Cold","email":"peter@example.com"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // Ory Hydra's client-credentials JWT access token: the claims ory/hydra's own test
        // asserts (oauth2/oauth2_client_credentials_test.go: `client_id` and `sub` both the
        // client's id, `nbf == iat`, `aud`, `jti`, `scp`, `ext`), with the client id, scope
        // and times of the Hydra token quoted in ory/hydra#293. The issuer is an Ory Network
        // project's (ory/docs docs/oauth2-oidc/client-credentials.mdx).
        Shape {
            name: "hydra machine",
            preset: Preset::Hydra,
            issuer: "https://your-project.projects.oryapis.com",
            auto_preset: Preset::Hydra,
            claims: json!({"aud":[],"client_id":"828c4958-4359-49d6-83be-02e235841c64","exp":1_477_280_498,"ext":{},"iat":1_477_276_899,"iss":"https://your-project.projects.oryapis.com","jti":"…","nbf":1_477_276_899,"scp":["hydra"],"sub":"828c4958-4359-49d6-83be-02e235841c64"}),
            kind: m,
            own: By::SubjectIsClientId,
            auto: By::SubjectIsClientId,
            generic: By::SubjectIsClientId,
        },
        // Ory Hydra's authorization-code JWT access token: the claims ory/hydra's test
        // asserts (oauth2/oauth2_auth_code_test.go `assertJWTAccessToken`: subject
        // `aeneas-rekkas`, the client's `client_id`, `scp`, `ext.foo`, audience
        // `https://api.ory.sh/`), the client id written as in ory/docs' examples.
        Shape {
            name: "hydra user",
            preset: Preset::Hydra,
            issuer: "https://your-project.projects.oryapis.com",
            auto_preset: Preset::Hydra,
            claims: json!({"aud":["https://api.ory.sh/"],"client_id":"the-client-id","exp":1_477_280_498,"ext":{"foo":"bar"},"iat":1_477_276_899,"iss":"https://your-project.projects.oryapis.com","jti":"…","nbf":1_477_276_899,"scp":["hydra","offline","openid"],"sub":"aeneas-rekkas"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
        // Duende IdentityServer docs, "Resource Isolation", machine to machine: the
        // down-scoped client-credentials token ("some details omitted"; no `sub`). Its
        // issuer is the docs' `https://localhost:5001`, which `auto` reads as RFC 9068.
        Shape {
            name: "duende machine",
            preset: Preset::Duende,
            issuer: "https://localhost:5001",
            auto_preset: Preset::Rfc9068,
            claims: json!({"aud":["urn:invoice"],"scope":"read","client_id":"client"}),
            kind: m,
            own: By::ClientIdWithoutSubject,
            auto: By::Rfc9068ClientIdWithoutSubject,
            generic: By::ClientIdWithoutSubject,
        },
        // Duende IdentityServer docs, "Tokens", the access token example.
        Shape {
            name: "duende user",
            preset: Preset::Duende,
            issuer: "https://localhost:5001",
            auto_preset: Preset::Rfc9068,
            claims: json!({"iss":"https://localhost:5001","nbf":1_609_932_801,"iat":1_609_932_801,"exp":1_609_936_401,"aud":"urn:resource1","scope":"openid resource1.scope1 offline_access","amr":["pwd"],"client_id":"web_app","sub":"88421113","auth_time":1_609_932_794,"idp":"local","sid":"F6E6F2EDE86EB8731EF609A4FE40ED89","jti":"2C56A356A306E64AFC7D2C6399E23A17"}),
            kind: u,
            own: By::Default,
            auto: By::Default,
            generic: By::Default,
        },
    ]
}

fn classified(classifier: &Classifier, claims: &Map<String, Value>) -> Classification {
    classifier
        .classify(claims)
        .expect("no machine claim is configured, so classification cannot fail")
}

#[test]
fn published_shapes_under_own_preset_auto_and_generic() {
    for shape in shapes() {
        let name = shape.name;
        let mut claims = shape
            .claims
            .as_object()
            .cloned()
            .expect("a shape is a JSON object");
        let expect = |by: By| Classification {
            kind: shape.kind,
            classified_by: by,
        };

        let own = classified(&Classifier::new(shape.preset), &claims);
        assert_eq!(own, expect(shape.own), "{name} under {}", shape.preset);

        let generic = classified(&Classifier::new(Preset::Generic), &claims);
        assert_eq!(generic, expect(shape.generic), "{name} under generic");

        assert_eq!(
            Preset::Auto.for_issuer(shape.issuer),
            shape.auto_preset,
            "{name}: auto for {}",
            shape.issuer
        );
        if let Some(iss) = claims.get("iss") {
            assert_eq!(iss, shape.issuer, "{name}: auto reads the token's own iss");
        }
        claims.insert("iss".to_owned(), json!(shape.issuer));
        let auto = classified(&Classifier::default(), &claims);
        assert_eq!(auto, expect(shape.auto), "{name} under auto");
    }
}

/// Every preset has both a published machine and a published user shape here.
#[test]
fn every_preset_has_a_machine_and_a_user_shape() {
    let shapes = shapes();
    for preset in Preset::ALL {
        if matches!(preset, Preset::Auto | Preset::Generic | Preset::Rfc9068) {
            continue;
        }
        for kind in [Kind::Machine, Kind::User] {
            assert!(
                shapes.iter().any(|s| s.preset == preset && s.kind == kind),
                "{preset}: no published {kind} shape"
            );
        }
    }
}
