#!/usr/bin/env python3
"""bench/callgrind_stages.py: per-stage instructions per request from two callgrind runs.

    callgrind_stages.py SERVER BASE.out FULL.out N [TOP]

Runs `callgrind_annotate --inclusive=yes` on both profiles and prints, for each stage of
SERVER's pipeline ("lean", "leanc", "bare" or "floor"), the inclusive instruction count per request:
(full - base) / N, of the costliest function the stage's pattern matches (the rows of one
function that callgrind_annotate splits by source file nest, so the largest is the whole;
malloc and free are summed). A stage whose functions were inlined into their caller shows "-". Then the TOP
(default 25) functions of the library with the largest inclusive cost per request.
"""
import re
import subprocess
import sys

# (label, regex over the demangled function name). Patterns are anchored on the function
# path (after "file:"), and name one function each, so their costs do not overlap unless
# one stage calls another (say so in the label).
STAGES = {
    "lean": [
        ("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        ("AuthService future (everything the layer adds + the handler)", r"axum_principal::layer::AuthService<.*>::call::\{\{closure\}\}"),
        ("  Authenticator::authenticate (steps 1-7)", r"axum_principal::authenticator::Authenticator::authenticate::\{\{closure\}\}$"),
        ("    bearer: header -> token", r"axum_principal::bearer::bearer_token$"),
        ("    b64token check", r"axum_principal::bearer::check_b64token$"),
        ("    token digest (cache on only)", r"axum_principal::crypto::sha256$"),
        ("    decode: header + claims + duplicate check (verify::parse)", r"axum_principal::verify::parse$"),
        ("      base64 (all three parts)", r"base64::engine::Engine::decode::inner"),
        ("      JSON + duplicate-member check", r"axum_principal::verify::json::"),
        ("      claims scan (lazy: registered claims only)", r"axum_principal::verify::claims::"),
        ("    select issuer / alg / typ", r"axum_principal::authenticator::Authenticator::select$"),
        ("    key lookup (keys_for)", r"axum_principal::key_store::KeyStore::keys_for::\{\{closure\}\}$"),
        ("    signature (aws-lc verify)", r"axum_principal::verify::check_signature$"),
        ("    claim checks (iss, exp, nbf, iat, aud)", r"axum_principal::verify::check_claims$"),
        ("    access-token checks", r"axum_principal::verify::check_access_token$"),
        ("    classify", r"axum_principal::classify::Classifier::classify_(for|for_issuer|with|claim)$"),
        ("    Principal build", r"axum_principal::principal::Principal::from_(claims|token)$"),
        ("    cache insert (cache on only)", r"axum_principal::cache::TokenCache::insert$"),
        ("    metrics event", r"axum_principal::observe::verified$"),
        ("  drop of the principal / claims", r"core::ptr::drop_in_place<axum_principal::principal::Inner>$"),
        ("  extensions insert", r"http::extensions::Extensions::insert<"),
        ("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        ("malloc + free (whole process)", r"^(malloc|free|realloc|calloc)$"),
    ],
    # One repeated token, every request a cache hit.
    "leanc": [
        ("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        ("AuthService::call: the fast path, the inner service called at once", r"axum_principal::layer::AuthService<.*>::call$"),
        ("  cached_bearer (steps 1-2 on a hit, never waits)", r"axum_principal::authenticator::Authenticator::cached_bearer$"),
        ("    bearer: header -> token", r"axum_principal::bearer::bearer_token$"),
        ("    cache lookup (quick_cache get + whole-token compare)", r"axum_principal::cache::TokenCache::get$"),
        ("    re-check of the hit (time, key still in the set)", r"axum_principal::authenticator::Authenticator::valid_now$"),
        ("    metrics event (metrics feature only)", r"axum_principal::observe::verified$"),
        ("  extensions insert (the principal)", r"http::extensions::Extensions::insert<"),
        ("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        ("malloc + free (whole process)", r"^(malloc|free|realloc|calloc)$"),
    ],
    "bare": [
        ("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        ("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        ("malloc + free (whole process)", r"^(malloc|free|realloc|calloc)$"),
    ],
    "floor": [
        ("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        ("handler (verify)", r"bench_floor::verify::\{\{closure\}\}"),
        ("  decode_header", r"jsonwebtoken::header::decode_header$"),
        ("  signature (jsonwebtoken::crypto::verify)", r"jsonwebtoken::crypto::verify$"),
        ("malloc + free (whole process)", r"^(malloc|free|realloc|calloc)$"),
    ],
}

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\S*?:)?(.+?)(?:\s+\[[^\]]*\])?\s*$")


def costs(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no", path],
        check=True, capture_output=True, text=True,
    ).stdout
    table = {}
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        if not line.strip():
            if table:
                break
            continue
        m = LINE.match(line)
        if not m or m.group(2).startswith("=>"):
            continue
        name = m.group(2)
        # Code inlined from other files shows as more rows of the same function, nested in
        # one another (the outer row includes the inner ones): keep the largest.
        table[name] = max(table.get(name, 0), int(m.group(1).replace(",", "")))
    return table


def main():
    server, base_path, full_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
    base, full = costs(base_path), costs(full_path)
    per = {name: (ir - base.get(name, 0)) / n for name, ir in full.items()}
    for label, pattern in STAGES.get(server, []):
        rx = re.compile(pattern)
        hits = [v for name, v in per.items() if rx.search(name)]
        total = sum(hits) if label.startswith("malloc") else max(hits, default=0)
        shown = f"{total:>10,.0f}" if hits else f"{'-':>10}"
        print(f"{shown}  {label}")
    print(f"\n  top {top} functions of the crate (inclusive per request):")
    lib = sorted(
        ((v, name) for name, v in per.items() if "axum_principal" in name or "bench_" in name),
        reverse=True,
    )[:top]
    for v, name in lib:
        print(f"{v:>10,.0f}  {name[:150]}")


if __name__ == "__main__":
    main()
