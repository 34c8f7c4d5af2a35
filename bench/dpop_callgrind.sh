#!/usr/bin/env bash
# bench/dpop_callgrind.sh: instructions per DPoP request under callgrind (issue 20, item 5):
# a new DPoP-bound token with a fresh proof, the library (`lean_dpop`: AuthLayer, DPoP
# required, token cache off) against the DPoP floor (`dpop_floor`: the two signatures, keys
# parsed once), on RS256 and ES256 access tokens (the proofs ES256).
#
#   bash bench/dpop_callgrind.sh                     # N=300 requests per run
#   N=100 SKIP_BUILD=1 OUT=/tmp/dcg bash bench/dpop_callgrind.sh
#
# For each server and algorithm, two runs under callgrind, each started fresh, each with
# tokens and proofs minted just before it (`dpop_mint`: a proof is accepted within the DPoP
# window, 60 s, of its `iat`, and once):
#   base: WARMUP requests, then exit;   full: WARMUP + N requests.
# Every request is a distinct token with a distinct fresh proof (the replay store never sees
# a repeat); the client (bench/send_dpop.py) sends them one at a time on one keep-alive
# connection and checks every answer is 200. Instructions per request = (full - base) / N.
# Then the per-stage breakdown (bench/dpop_stages.py, the same difference).
# Settings: N=300 WARMUP=20 OUT=<dir> SKIP_BUILD=0 SERVERS="dpop_floor lean_dpop"
# ALGS="RS256 ES256" CLIENT_KEYS=4 BIN=target/release
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300}
WARMUP=${WARMUP:-20}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVERS=${SERVERS:-"dpop_floor lean_dpop"}
ALGS=${ALGS:-"RS256 ES256"}
CLIENT_KEYS=${CLIENT_KEYS:-4}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/axum-principal-dpop-callgrind.XXXXXX")}
BIN=${BIN:-target/release}
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only

mkdir -p "$OUT/logs"
die() {
  echo "dpop_callgrind.sh: $*" >&2
  exit 1
}
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v valgrind >/dev/null 2>&1 || die "valgrind is needed (apt-get install valgrind)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the client"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source bench/lib.sh

if [[ $SKIP_BUILD != 1 ]]; then
  log "cargo build --release -p axum-principal-bench --bins"
  cargo build --release -p axum-principal-bench --bins \
    >"$OUT/logs/build.log" 2>&1 || { tail -30 "$OUT/logs/build.log" >&2; die "build failed"; }
fi

# One run under callgrind with freshly minted tokens and proofs: prints the total
# instruction count (Ir) of the process.
profile() { # name server alg count [attempt]
  local name=$1 server=$2 alg=$3 count=$4 attempt=${5:-1} port pid
  local dir="$OUT/tokens-$name" log_file="$OUT/logs/$name.log"
  rm -rf "$dir"
  "$BIN/dpop_mint" "$dir" "$count" "$alg" "$CLIENT_KEYS" 2>>"$OUT/logs/mint.log" ||
    die "$name: dpop_mint failed"
  port=$(free_port)
  env BIND="127.0.0.1:$port" TOKIO_WORKER_THREADS=1 JWKS_FILE="$dir/jwks.json" \
    ISSUER="$(cat "$dir/issuer")" AUDIENCE="$(cat "$dir/audience")" \
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$OUT/$name.out" \
    "$BIN/$server" >"$log_file" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local waited=0
  until grep -qs "listening on" "$log_file"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      PIDS=()
      if ((attempt < 3)) && grep -q "Address already in use" "$log_file"; then
        profile "$name" "$server" "$alg" "$count" $((attempt + 1))
        return
      fi
      tail -5 "$log_file" >&2
      die "$name exited"
    fi
    ((waited++ < 1200)) || { kill "$pid"; die "$name did not start"; }
    sleep 0.1
  done
  local started=$SECONDS
  python3 bench/send_dpop.py "127.0.0.1:$port" "$dir/dpop_${alg,,}.txt" "$count" ||
    { kill "$pid"; die "$name: the client failed"; }
  echo "$name: $count requests in $((SECONDS - started)) s" >>"$OUT/logs/timing.log"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  PIDS=()
  [[ -s $OUT/$name.out ]] || die "$name: no callgrind output"
  awk '/^(summary|totals):/ { print $2; exit }' "$OUT/$name.out"
}

RESULTS="$OUT/results.tsv"
: >"$RESULTS"
for alg in $ALGS; do
  for server in $SERVERS; do
    log "$server $alg: base ($WARMUP requests)"
    base=$(profile "$server-${alg,,}-base" "$server" "$alg" "$WARMUP")
    log "$server $alg: full ($WARMUP + $N requests)"
    full=$(profile "$server-${alg,,}-full" "$server" "$alg" $((WARMUP + N)))
    per=$(((full - base) / N))
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$alg" "$base" "$full" "$per" >>"$RESULTS"
    log "$server $alg: $per instructions per request"
  done
done

echo
echo "instructions per DPoP request (callgrind, N=$N, (full - base) / N; a new real-sized" \
  "access token with a fresh ES256 proof, $CLIENT_KEYS client keys)"
sort -u "$OUT/logs/mint.log" | sed "s/^/  /"
awk -F'\t' '
  { per[$1 "|" $2] = $5; algs[$2] = 1 }
  function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.3f", a / b) : "n/a" }
  END {
    printf "%-6s %12s %12s %12s %12s %12s\n", "alg", "dpop_floor", "lean_dpop", "floor/lean", "lean/floor", "lean-floor"
    for (a in algs) {
      f = per["dpop_floor|" a]; l = per["lean_dpop|" a]
      printf "%-6s %12d %12d %12s %12s %12d\n", a, f, l, ratio(f, l), ratio(l, f), l - f
    }
  }' "$RESULTS"
for alg in $ALGS; do
  for server in $SERVERS; do
    echo
    echo "== $server $alg: inclusive instructions per request, by stage"
    python3 bench/dpop_stages.py "$server" "$OUT/$server-${alg,,}-base.out" \
      "$OUT/$server-${alg,,}-full.out" "$N"
  done
done
echo
echo "profiles: $OUT/*.out (callgrind_annotate --inclusive=yes FILE); results: $RESULTS"
