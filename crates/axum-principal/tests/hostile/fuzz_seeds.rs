//! Writes the fuzz targets' seeds (fuzz/): keys, valid tokens and hostile variants. Ignored:
//! `cargo test -p axum-principal --test hostile -- --ignored write_fuzz_seeds`.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use common::hostile::*;

// ---------------------------------------------------------------------------------------------
// Seeds for the fuzz targets (fuzz/):
// `cargo test -p axum-principal --test hostile -- --ignored write_fuzz_seeds`

#[tokio::test]
#[ignore = "writes fuzz/jwks.json, fuzz/valid_tokens.txt and fuzz/corpus seeds"]
async fn write_fuzz_seeds() {
    use std::fs;
    const FUZZ_ISSUER: &str = "https://issuer.example.com";
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let issuer = start(MockIssuer::builder()).await;
    let write = |path: &str, data: &[u8]| {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        fs::write(&path, data).expect("the seed is written under fuzz/");
    };
    let jwks = serde_json::to_string_pretty(&issuer.jwks()).expect("a JWKS serializes");
    write("jwks.json", jwks.as_bytes());
    // Valid until 2100 for https://issuer.example.com; one per algorithm, users and machines.
    let base = |alg: KeyAlg| {
        issuer
            .token()
            .alg(alg)
            .claim("iss", FUZZ_ISSUER)
            .claim("iat", 1_700_000_000)
            .claim("exp", 4_102_444_800_i64)
    };
    let mut valid = Vec::new();
    for alg in KeyAlg::ALL {
        let a = alg.as_str().to_lowercase();
        let user = base(alg)
            .claim("sub", "alice")
            .claim("roles", json!(["admin"]))
            .claim("scope", "openid profile")
            .sign();
        let machine = base(alg)
            .claim("sub", "svc")
            .claim("client_id", "svc")
            .claim("scope", "read:reports")
            .sign();
        write(&format!("corpus/token/valid_{a}_user"), user.as_bytes());
        write(
            &format!("corpus/token/valid_{a}_machine"),
            machine.as_bytes(),
        );
        write(
            &format!("corpus/authorization_header/valid_{a}_user"),
            format!("Bearer {user}").as_bytes(),
        );
        valid.push(user);
        valid.push(machine);
    }
    write(
        "valid_tokens.txt",
        format!("{}\n", valid.join("\n")).as_bytes(),
    );
    let rs = kid(&issuer, KeyAlg::Rs256);
    let user = valid[0].clone();
    let (h, p, s) = parts(&user);
    let claims_text = String::from_utf8_lossy(&b64d(&p)).into_owned();
    let hostile: Vec<(&str, String)> = vec![
        ("alg_none", base(KeyAlg::Rs256).unsigned()),
        (
            "hs256_confusion",
            base(KeyAlg::Rs256).kid(&rs).sign_hs256(
                issuer
                    .public_jwk(&rs)
                    .expect("the issuer publishes its RS256 key")
                    .to_string()
                    .as_bytes(),
            ),
        ),
        (
            "crit",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":rs,"crit":["b64"],"b64":false}).to_string(),
                &claims_text,
                Some(&rs),
            ),
        ),
        (
            "kid_traversal",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":"../../dev/null"}).to_string(),
                &claims_text,
                Some(&rs),
            ),
        ),
        ("jwe_shape", format!("{h}.{p}.{s}.{s}.{s}")),
        ("padding", format!("{user}==")),
        (
            "tampered",
            retamper(&user, |c| {
                c.insert("sub".into(), json!("admin"));
            }),
        ),
        (
            "duplicate_alg",
            issuer.sign_raw(
                &format!("{{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &claims_text,
                Some(&rs),
            ),
        ),
        (
            "nested",
            issuer.sign_raw(
                &rs_header(&issuer),
                &format!("{{\"x\":{}}}", nested_arrays(200)),
                Some(&rs),
            ),
        ),
        (
            "exp_string",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":rs}).to_string(),
                &claims_text.replace("4102444800", "\"4102444800\""),
                Some(&rs),
            ),
        ),
    ];
    for (name, token) in &hostile {
        write(&format!("corpus/token/{name}"), token.as_bytes());
        write(
            &format!("corpus/authorization_header/{name}"),
            format!("Bearer {token}").as_bytes(),
        );
    }
    for (name, value) in [
        ("two_headers", format!("Bearer {user}\nBearer {user}")),
        ("two_tokens", format!("Bearer {user} {user}")),
        ("basic", "Basic dXNlcjpwYXNz".to_owned()),
        ("empty", "Bearer ".to_owned()),
        ("lowercase", format!("bearer   {user}\t")),
    ] {
        write(
            &format!("corpus/authorization_header/{name}"),
            value.as_bytes(),
        );
    }
    write("corpus/jwks_document/mock_jwks", jwks.as_bytes());
    let mut odd = issuer.jwks();
    if let Some(keys) = odd["keys"].as_array_mut() {
        keys.extend([
            json!({"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}),
            json!({"kty":"EC","kid":"k1","crv":"secp256k1","x":"AA","y":"AA"}),
            json!({"kty":"oct","kid":"h","k":"c2VjcmV0"}),
            json!({"kty":"OKP","crv":"X25519","x":"AA"}),
            json!({"kty":"RSA","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}),
            json!("not an object"),
        ]);
    }
    write(
        "corpus/jwks_document/odd_entries",
        odd.to_string().as_bytes(),
    );
    write("corpus/jwks_document/empty", b"{\"keys\":[]}");
    write("corpus/jwks_document/keys_not_array", b"{\"keys\":{}}");
    for (name, doc) in [
        (
            "oidc",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": format!("{FUZZ_ISSUER}/jwks"),
            "authorization_endpoint": format!("{FUZZ_ISSUER}/authorize"), "id_token_signing_alg_values_supported": ["RS256"]}),
        ),
        (
            "loopback_http",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "http://127.0.0.1:8080/jwks"}),
        ),
        (
            "insecure_http",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "http://issuer.example.com/jwks"}),
        ),
        (
            "other_issuer",
            json!({"issuer": "https://evil.example.com", "jwks_uri": "https://evil.example.com/jwks"}),
        ),
        (
            "file_scheme",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "file:///etc/passwd"}),
        ),
        ("no_jwks_uri", json!({"issuer": FUZZ_ISSUER})),
    ] {
        write(
            &format!("corpus/discovery_document/{name}"),
            doc.to_string().as_bytes(),
        );
    }
    write(
        "corpus/discovery_document/cache_control",
        b"{\"issuer\":\"https://issuer.example.com\"}\nmax-age=300, public\nno-cache",
    );
}
