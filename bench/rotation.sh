#!/usr/bin/env bash
# bench/rotation.sh: latency while the issuer rotates its keys under load (issue 20, item 5).
#
#   bash bench/rotation.sh                              # the five variants below, ~4 minutes
#   VARIANTS="proper adversarial" SKIP_BUILD=1 OUT=/tmp/rot bash bench/rotation.sh
#   DURATION=20 ROTATIONS=2 bash bench/rotation.sh      # settings of bench/src/bin/rotation/
#
# ~40 s per variant. Each variant is one run of `rotation drive` (bench/src/bin/rotation/): a MockIssuer
# (discovery + JWKS, `Cache-Control: max-age=2`), the library behind AuthLayer on core
# SERVER_CPU (0, one Tokio worker; keys by discovery, key TTL range from 1 s), 64 keep-alive
# connections from a hyper client on core LOAD_CPU (1) sending distinct real-sized RS256
# tokens back to back for DURATION (36) s, three rotations. Variants:
#   proper:      the new key is published, signed with 2.5 s later (more than one max-age),
#                the old key retired 3 s after that; refresh cooldown 100 ms and failure
#                backoff 500 ms (the library's 30 s and 5 s scaled to the 2 s max-age);
#   adversarial: the same, but tokens are signed with the new key the moment it is
#                published: the first requests carry a kid the server cannot have seen;
#   defaults:    proper, with the library's default cooldown (30 s) and backoff (5 s);
#   adversarial-defaults: adversarial with the defaults;
#   cache:       proper, with the verified-token cache on (each key's 2 000 tokens verified
#                once, then hits that still check the key is in the held set).
# Results: $OUT/<variant>/summary.txt (also printed), series.csv (per 100 ms), server.log.
# Everything binds 127.0.0.1; the servers are killed on exit (the driver kills its own;
# this script kills any left, by the pid the driver wrote).
set -euo pipefail
cd "$(dirname "$0")/.."

VARIANTS=${VARIANTS:-"proper adversarial defaults adversarial-defaults cache"}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/axum-principal-rotation.XXXXXX")}
BIN=${BIN:-target/release}
mkdir -p "$OUT"
die() {
  echo "rotation.sh: $*" >&2
  exit 1
}
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

DRIVER=
cleanup() {
  [[ -n $DRIVER ]] && kill "$DRIVER" 2>/dev/null || true
  local f pid
  for f in "$OUT"/*/server.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $SKIP_BUILD != 1 ]]; then
  log "cargo build --release -p axum-principal-bench --bins"
  cargo build --release -p axum-principal-bench --bins >"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "build failed"; }
fi
PIN=()
if command -v taskset >/dev/null 2>&1 && (($(nproc) >= 2)); then
  PIN=(taskset -c "$LOAD_CPU")
  export SERVER_CPU
else
  log "taskset or a second core missing: server and client not pinned"
  export SERVER_CPU=
fi

for variant in $VARIANTS; do
  case $variant in
  proper) vars=(SWITCH_AFTER=2.5 REFRESH_COOLDOWN_MS=100 FAILURE_BACKOFF_MS=500) ;;
  adversarial) vars=(SWITCH_AFTER=0 REFRESH_COOLDOWN_MS=100 FAILURE_BACKOFF_MS=500) ;;
  defaults) vars=(SWITCH_AFTER=2.5 REFRESH_COOLDOWN_MS=30000 FAILURE_BACKOFF_MS=5000) ;;
  adversarial-defaults) vars=(SWITCH_AFTER=0 REFRESH_COOLDOWN_MS=30000 FAILURE_BACKOFF_MS=5000) ;;
  cache) vars=(SWITCH_AFTER=2.5 REFRESH_COOLDOWN_MS=100 FAILURE_BACKOFF_MS=500 TOKEN_CACHE=on) ;;
  *) die "unknown variant $variant" ;;
  esac
  log "$variant: ${vars[*]} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  mkdir -p "$OUT/$variant"
  # The variant's settings (they override the same names in the environment).
  env "${vars[@]}" \
    "${PIN[@]}" "$BIN/rotation" drive "$OUT/$variant" >"$OUT/$variant/stdout.txt" 2>"$OUT/$variant/stderr.txt" &
  DRIVER=$!
  wait "$DRIVER" || { cat "$OUT/$variant/stderr.txt" >&2; die "$variant failed"; }
  DRIVER=
  echo "== $variant (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
  cat "$OUT/$variant/stdout.txt"
  echo
done
echo "results: $OUT/<variant>/summary.txt, series.csv"
