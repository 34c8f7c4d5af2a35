#!/usr/bin/env python3
"""bench/callgrind_stages.py: per-stage instructions per request from two callgrind runs.

    callgrind_stages.py SERVER BASE.out FULL.out N [TOP]

For each stage of SERVER's pipeline ("lean", "leanc", "bare" or "floor") it prints the
inclusive instruction count per request: (full - base) / N. Then the TOP (default 25)
functions of the library or the bench binary with the largest inclusive cost per request.

A stage is measured one of two ways:

* `fn`: the inclusive cost of the costliest function whose name matches a pattern, from
  `callgrind_annotate --inclusive=yes` (rows of one function split by source file nest, so
  the largest is the whole; malloc and free are summed). A function inlined into its caller
  has no row of its own: the stage shows "-" and its cost is inside the caller's.
* `src`: everything done on behalf of some source lines of the library, wherever the
  compiler inlined them. It needs profiles written with `--dump-instr=yes` (per instruction)
  and the binary's line tables (`CARGO_PROFILE_RELEASE_DEBUG=line-tables-only`, as the bench
  scripts build): every instruction and call site is resolved by `llvm-symbolizer
  --inlining` to its chain of inlined frames; an instruction counts when one frame of its
  chain lies in the lines, a call when its call site does (the callee's inclusive cost),
  unless the callee itself is defined in those lines (its instructions already count). The
  lines are found in the source tree by patterns, so the tree must be the one the binary was
  built from. Use it on straight-line code: a callee that calls back into the same lines
  (a recursive visitor) would be counted twice.

Instruction counts per request for calls: `calls` prints how many times per request the
functions that match were called (malloc and friends: allocations per request).
"""
import re
import subprocess
import sys
from collections import defaultdict

LIB = "crates/axum-principal/src/"
MOD = LIB + "verify/mod.rs"
JSON = LIB + "verify/json.rs"
CLAIMS = LIB + "verify/claims.rs"
AUTH = LIB + "authenticator/jwt.rs"
FLOOR = "bench/src/bin/floor.rs"
ALLOC = r"^(malloc|free|realloc|calloc)$"


def fn(label, pattern):
    return ("fn", label, pattern)


def src(label, *ranges):
    """ranges: (file, start pattern, end pattern or None for the start line alone), each
    from the first line matching `start` to the first line after it matching `end`."""
    return ("src", label, ranges)


def calls(label, pattern):
    return ("calls", label, pattern)


# Patterns are anchored on the function path (after "file:") and name one function each,
# so their costs do not overlap unless one stage calls another (indented rows are part of
# the row above them).
STAGES = {
    "lean": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        # Since 2026-12-08 a new Bearer token whose keys are at hand is decided in
        # `AuthService::call` itself (the first look): no pipeline future on this path.
        fn("AuthService::call (everything the layer adds, and the router's call)", r"axum_principal::layer::AuthService<.*>::call$"),
        fn("  first look (steps 1-7, never waits)", r"Authenticator>::first_look$"),
        fn("    credentials: Authorization -> token", r"axum_principal::authenticator::credentials::read$"),
        fn("    token: UTF-8 (simdutf8)", r"simdutf8::implementation::.*validate_utf8_basic$"),
        fn("    RFC 6750 b64token check (only when a token is refused, or may go to introspection)", r"axum_principal::authenticator::credentials::check_b64token$"),
        fn("    verification with the keys at hand (verify_jwt_now: steps 3-6)", r"Authenticator>::verify_jwt_now$"),
        fn("      decode (verify::parse_with): header + claims + signature bytes", r"axum_principal::verify::parse_with$"),
        fn("        header: memo of recent headers (decoded on a miss only)", r"axum_principal::verify::header::HeaderMemo::decode$"),
        fn("        claims: base64, UTF-8, one scan into the index (decode_object)", r"axum_principal::verify::decode_object$"),
        fn("          · base64 into a Vec (base64-simd)", r"axum_principal::verify::base64url::decode$"),
        fn("          JSON scan + index (duplicates refused at every depth)", r"axum_principal::verify::index::index$"),
        fn("          · the scanner's object walker", r"axum_principal::verify::json::object$"),
        fn("          · · nested objects' duplicate check (Seen::insert)", r"axum_principal::verify::json::Seen::insert$"),
        fn("        · signature base64 into a stack buffer (base64-simd)", r"axum_principal::verify::base64url::decode_into$"),
        fn("      select issuer", r"axum_principal::config::issuers::.*select$"),
        fn("      key lookup (KeyStore::keys_now)", r"axum_principal::key_store::KeyStore::keys_now$"),
        fn("      signature (check_signature)", r"axum_principal::verify::check_signature$"),
        fn("        · aws-lc parsed_verify_sig (the floor's signature row)", r"ParsedVerificationAlgorithm>::parsed_verify_sig$"),
        fn("      claims: registered, access-token, binding (check_jwt_claims)", r"Authenticator>::check_jwt_claims$"),
        fn("        claim checks (check_claims)", r"axum_principal::verify::check_claims$"),
        fn("        access-token checks (ID, refresh, logout tokens)", r"axum_principal::verify::check_access_token$"),
        fn("        binding (cnf)", r"axum_principal::binding::Binding::from_claims$"),
        fn("    classification + principal", r"axum_principal::authenticator::claims::<impl axum_principal::authenticator::Authenticator>::principal$"),
        fn("      classification", r"axum_principal::classify::Classifier::classify_for_issuer$"),
        fn("      principal (Principal::from_claims)", r"axum_principal::principal::Principal::from_claims$"),
        fn("        · roles and scopes (string_list)", r"axum_principal::principal::string_list$"),
        fn("    · claim values read from their text (read_text: arrays, escapes; plain strings and dates come from the scan)", r"axum_principal::verify::claims::read_text$"),
        fn("  extensions insert (the principal)", r"http::extensions::Extensions::insert<"),
        fn("drop of the principal", r"core::ptr::drop_in_place<axum_principal::principal::Principal>$"),
        fn("handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
    # One repeated token, every request a cache hit.
    "leanc": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        fn("AuthService::call: the inner service (the router) called at once", r"axum_principal::layer::AuthService<.*>::call$"),
        fn("  first look (steps 1-2 on a hit, never waits)", r"Authenticator>::first_look$"),
        fn("    bearer: header -> token", r"axum_principal::authenticator::credentials::read$"),
        fn("    cache lookup (quick_cache get + whole-token compare)", r"axum_principal::token_cache::TokenCache::get$"),
        fn("    re-check of the hit (time, key still in the set)", r"Authenticator>::valid_now$"),
        fn("    metrics event (metrics feature only)", r"axum_principal::observe::verified$"),
        fn("  extensions insert (the principal)", r"http::extensions::Extensions::insert<"),
        fn("handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
    "bare": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        fn("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
    "floor": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        fn("  handler future (`me`: steps 1-4, inlined into it)", r"<F as axum::handler::Handler<\(M,T1,T2\),S>>::call::\{\{closure\}\}$"),
        src("    token, split, signature base64 into the stack buffer",
            (FLOOR, r"let Some\(token\) = request", r"^\s+floor$")),
        src("    key by header segment (a HashMap lookup)",
            (FLOOR, r"fn key_for\(&self", r"/// Decodes a header segment")),
        fn("    signature (aws-lc parsed_verify_sig)", r"ParsedVerificationAlgorithm>::parsed_verify_sig$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
}

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\S*?:)?(.+?)(?:\s+\[[^\]]*\])?\s*$")


def inclusive(path):
    """Function name -> inclusive Ir, from callgrind_annotate."""
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


class Raw:
    """A callgrind profile read line by line: cost per instruction address of the main
    object, and calls (call-site address, callee, count, inclusive cost)."""

    def __init__(self, path):
        self.cmd = None
        self.self_cost = defaultdict(int)      # address -> Ir (main object only)
        self.arcs = defaultdict(lambda: [0, 0])  # (address, callee) -> [count, Ir]
        self.callee_calls = defaultdict(int)   # callee -> count (any object)
        self.fn_low = {}                       # function -> lowest address seen
        names = {}
        obj = fn_name = callee = None
        main_obj = None
        pending = None
        last = []
        ncols = 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\n")
                if not line:
                    continue
                c = line[0]
                if c.isdigit() or c in "+-*":
                    parts = line.split()
                    pos = []
                    for i in range(ncols):
                        p = parts[i] if i < len(parts) else "*"
                        prev = last[i] if i < len(last) else 0
                        if p == "*":
                            v = prev
                        elif p[0] in "+-":
                            v = prev + int(p, 0)
                        else:
                            v = int(p, 0)
                        pos.append(v)
                    cost = int(parts[ncols]) if len(parts) > ncols else 0
                    last = pos
                    addr = pos[0]
                    if pending is not None:
                        if obj == main_obj:
                            arc = self.arcs[(addr, pending[0])]
                            arc[0] += pending[1]
                            arc[1] += cost
                        self.callee_calls[pending[0]] += pending[1]
                        pending = None
                    elif obj == main_obj:
                        self.self_cost[addr] += cost
                        low = self.fn_low.get(fn_name)
                        if low is None or addr < low:
                            self.fn_low[fn_name] = addr
                    continue
                key, _, rest = line.partition("=")
                if key == "calls":
                    count, *target = rest.split()
                    pending = (callee, int(count))
                    # The target position is relative to the last position, which it
                    # does not change.
                    continue
                if key in ("ob", "cob", "fl", "fi", "fe", "cfi", "cfl", "fn", "cfn"):
                    space = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}.get(key, "fl")
                    m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
                    if m:
                        if m.group(2) is not None:
                            names[(space, m.group(1))] = m.group(2)
                        name = names.get((space, m.group(1)), "?")
                    else:
                        name = rest
                    if key == "ob":
                        obj = name
                        if main_obj is None and self.cmd and name.endswith("/" + self.cmd.split("/")[-1]):
                            main_obj = name
                    elif key == "fn":
                        fn_name = name
                    elif key == "cfn":
                        callee = name
                    continue
                if line.startswith("cmd:"):
                    self.cmd = line[4:].strip().split()[0]
                elif line.startswith("positions:"):
                    ncols = len(line.split()[1:])
        self.main_obj = main_obj


def symbolize(binary, offset, addresses):
    """address -> [(file, line)] of its inlined frames, innermost first."""
    todo = sorted(set(addresses))
    result = {}
    chunk = 20000
    for i in range(0, len(todo), chunk):
        part = todo[i:i + chunk]
        text = "\n".join(hex(a - offset) for a in part) + "\n"
        out = subprocess.run(
            ["llvm-symbolizer", "--obj=" + binary, "--inlining", "--no-demangle"],
            input=text, check=True, capture_output=True, text=True,
        ).stdout
        blocks = out.split("\n\n")
        for a, block in zip(part, blocks):
            lines = block.strip("\n").split("\n")
            frames = []
            for j in range(1, len(lines), 2):
                loc = lines[j].rsplit(":", 2)
                if len(loc) == 3:
                    try:
                        frames.append((loc[0], int(loc[1])))
                    except ValueError:
                        pass
            result[a] = frames
    return result


def load_offset(raw, binary):
    """Runtime minus file address of the main object: a called function's lowest address
    is its entry, compared with the symbol table."""
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True,
                         text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols.setdefault(parts[2], int(parts[0], 16))
    # The profile's names are demangled, nm's are not: `main` and the C functions linked
    # in (aws-lc) are the same in both.
    votes = defaultdict(int)
    for name, low in raw.fn_low.items():
        if name in symbols:
            votes[low - symbols[name]] += 1
    if not votes:
        raise SystemExit("callgrind_stages.py: cannot place the binary's addresses")
    return max(votes.items(), key=lambda kv: kv[1])[0]


def line_ranges(ranges):
    """(file suffix, set of lines) per range, found in the source tree."""
    found = []
    for path, start, end in ranges:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        s = next((i for i, l in enumerate(lines) if re.search(start, l)), None)
        if s is None:
            raise SystemExit(f"callgrind_stages.py: {start!r} not found in {path}")
        if end is None:
            e = s
            # A statement continued on the next lines (until its `;`).
            while not lines[e].rstrip().endswith((";", "{", "}")) and e + 1 < len(lines):
                e += 1
        else:
            e = next((i for i in range(s + 1, len(lines)) if re.search(end, lines[i])), None)
            if e is None:
                raise SystemExit(f"callgrind_stages.py: {end!r} not found after {start!r} in {path}")
            e -= 1
        found.append((path, set(range(s + 1, e + 2))))
    return found


def in_ranges(frames, ranges):
    return any(f.endswith(path) and line in lines for f, line in frames for path, lines in ranges)


class Lines:
    """Per-request cost of source lines, from the per-instruction profiles."""

    def __init__(self, base_path, full_path, n):
        self.full, self.base = Raw(full_path), Raw(base_path)
        binary = self.full.cmd
        self.n = n
        self.offsets = [load_offset(r, binary) for r in (self.base, self.full)]
        addresses = set()
        for r, off in zip((self.base, self.full), self.offsets):
            addresses.update(a - off for a in r.self_cost)
            addresses.update(a - off for a, _ in r.arcs)
        self.frames = symbolize(binary, 0, addresses)
        # Where each function of the main object is defined: its entry's outermost frame.
        self.defined = {}
        for r, off in zip((self.base, self.full), self.offsets):
            for name, low in r.fn_low.items():
                frames = self.frames.get(low - off) or []
                if frames:
                    self.defined[name] = frames[-1]

    def cost(self, ranges):
        total = 0
        for sign, r, off in ((1, self.full, self.offsets[1]), (-1, self.base, self.offsets[0])):
            for a, ir in r.self_cost.items():
                if in_ranges(self.frames.get(a - off, []), ranges):
                    total += sign * ir
            for (a, callee), (_, ir) in r.arcs.items():
                if not in_ranges(self.frames.get(a - off, []), ranges):
                    continue
                home = self.defined.get(callee)
                if home and in_ranges([home], ranges):
                    continue
                total += sign * ir
        return total / self.n


def main(stages=None, own=r"axum_principal|^(floor|lean|bare)::|<(floor|lean|bare)::"):
    """Prints SERVER's stages (from `stages`, default this file's) and the top functions
    whose names match `own`. bench/dpop_stages.py calls it with its own."""
    stages_by_server = STAGES if stages is None else stages
    server, base_path, full_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
    base, full = inclusive(base_path), inclusive(full_path)
    per = {name: (ir - base.get(name, 0)) / n for name, ir in full.items()}
    stages = stages_by_server.get(server, [])
    lines = None
    if any(kind in ("src", "calls") for kind, *_ in stages):
        lines = Lines(base_path, full_path, n)
    for kind, label, what in stages:
        if kind == "fn":
            rx = re.compile(what)
            hits = [v for name, v in per.items() if rx.search(name)]
            total = sum(hits) if what == ALLOC else max(hits, default=0)
            shown = f"{total:>10,.0f}" if hits else f"{'-':>10}"
        elif kind == "src":
            shown = f"{lines.cost(line_ranges(what)):>10,.0f}"
        else:
            rx = re.compile(what)
            count = sum(c for name, c in lines.full.callee_calls.items() if rx.search(name))
            count -= sum(c for name, c in lines.base.callee_calls.items() if rx.search(name))
            shown = f"{count / n:>10,.1f}"
        print(f"{shown}  {label}")
    print(f"\n  top {top} functions of the crate (inclusive per request):")
    own = re.compile(own)
    lib = sorted(((v, name) for name, v in per.items() if own.search(name)), reverse=True)[:top]
    for v, name in lib:
        print(f"{v:>10,.0f}  {name[:150]}")


if __name__ == "__main__":
    main()
