//! Hostile input: `crit` header extensions, and stripped, swapped, truncated and altered
//! signatures or signed parts.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use common::hostile::*;

// ---------------------------------------------------------------------------------------------
// `crit`, signatures, tampering

#[tokio::test]
async fn critical_header_extensions_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let mut cases = Vec::new();
    for (what, extra) in [
        (
            "unknown crit extension",
            json!({"crit":["x-unknown"],"x-unknown":1}),
        ),
        (
            "crit naming a registered claim",
            json!({"crit":["exp"],"exp":1}),
        ),
        (
            "crit b64:false (RFC 7797), payload still encoded",
            json!({"crit":["b64"],"b64":false}),
        ),
        ("empty crit list", json!({"crit":[]})),
        ("crit not a list", json!({"crit":"b64"})),
        ("crit null", json!({"crit":null})),
    ] {
        let mut h = json!({"alg":"RS256","kid": rs});
        if let (Some(h), Some(extra)) = (h.as_object_mut(), extra.as_object()) {
            h.extend(extra.clone());
        }
        cases.push(Case::bearer(
            format!("{what}: {h}"),
            &rs_signed(&issuer, &h.to_string(), &payload),
            Expect::Invalid(CRIT),
        ));
    }
    // RFC 7797's unencoded payload in compact form: the JSON is not a b64token at all.
    let header = json!({"alg":"RS256","kid": rs,"crit":["b64"],"b64":false}).to_string();
    let token = rs_signed(&issuer, &header, &payload);
    let (h, _, s) = parts(&token);
    cases.push(Case::bearer(
        "crit b64:false with the raw JSON payload in the token",
        &format!("{h}.{payload}.{s}"),
        Expect::BadRequest,
    ));
    run(&app, cases).await;
}

fn flip_bit(sig: &str, byte: usize, bit: u8) -> String {
    let mut raw = b64d(sig);
    let i = byte.min(raw.len().saturating_sub(1));
    if let Some(b) = raw.get_mut(i) {
        *b ^= 1 << bit;
    }
    b64url(&raw)
}

#[tokio::test]
async fn stripped_swapped_truncated_and_altered_signatures_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let mut cases = Vec::new();
    for alg in KeyAlg::ALL {
        let a = alg.as_str();
        let token = issuer.token().alg(alg).claim("sub", "alice").sign();
        let other = issuer.token().alg(alg).claim("sub", "mallory").sign();
        assert_accepts(&app, &token).await;
        let (h, p, s) = parts(&token);
        let (_, _, other_sig) = parts(&other);
        let sig_len = b64d(&s).len();
        cases.extend([
            Case::bearer(
                format!("{a}: signature stripped (h.p.)"),
                &format!("{h}.{p}."),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature and its dot stripped (h.p)"),
                &format!("{h}.{p}"),
                Expect::Invalid(MALFORMED),
            ),
            Case::bearer(
                format!("{a}: signature of another token"),
                &format!("{h}.{p}.{other_sig}"),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature text truncated by 4 chars"),
                &format!("{h}.{p}.{}", &s[..s.len() - 4]),
                Expect::Invalid(ANY),
            ),
            Case::bearer(
                format!("{a}: signature truncated by 4 bytes"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s)[..sig_len - 4])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature truncated to half"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s)[..sig_len / 2])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature with a byte appended"),
                &format!("{h}.{p}.{}", b64url(&[b64d(&s), vec![0]].concat())),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature doubled"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s).repeat(2))),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: first signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, 0, 7)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: middle signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, sig_len / 2, 3)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: last signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, sig_len, 0)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: all-zero signature (psychic signature)"),
                &format!("{h}.{p}.{}", b64url(&vec![0u8; sig_len])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: all-0xff signature"),
                &format!("{h}.{p}.{}", b64url(&vec![0xffu8; sig_len])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload sub changed, old signature"),
                &retamper(&token, |c| {
                    c.insert("sub".into(), json!("admin"));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload roles added, old signature"),
                &retamper(&token, |c| {
                    c.insert("roles".into(), json!(["admin"]));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload exp extended, old signature"),
                &retamper(&token, |c| {
                    c.insert("exp".into(), json!(now() + 86_400 * 365));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload re-serialized with spaces, old signature"),
                &{
                    let claims: Value = serde_json::from_slice(&b64d(&p)).expect("a JSON payload");
                    let pretty = serde_json::to_string_pretty(&claims).expect("claims serialize");
                    format!("{h}.{}.{s}", b64url(pretty.as_bytes()))
                },
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: header typ changed, old signature"),
                &{
                    let mut header: Value =
                        serde_json::from_slice(&b64d(&h)).expect("a JSON header");
                    header["typ"] = json!("at+jwt");
                    format!("{}.{p}.{s}", b64url(header.to_string().as_bytes()))
                },
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: header and payload of another token"),
                &{
                    let (oh, op, _) = parts(&other);
                    format!("{oh}.{op}.{s}")
                },
                Expect::Invalid(SIGNATURE),
            ),
        ]);
    }
    // An expired token re-dated with the signature kept.
    let expired = issuer.token().expires_in(-3600).sign();
    cases.push(Case::bearer(
        "RS256: expired token with exp pushed forward, old signature",
        &retamper(&expired, |c| {
            c.insert("exp".into(), json!(now() + 3600));
        }),
        Expect::Invalid(SIGNATURE),
    ));
    run(&app, cases).await;
}
