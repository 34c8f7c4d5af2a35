#!/usr/bin/env bash
# bench/callgrind.sh: instructions per request on new tokens, the lean server vs the floor,
# counted by valgrind's callgrind (repeatable on a shared machine: it counts instructions,
# not seconds).
#
#   bash bench/callgrind.sh                       # N=300 tokens per algorithm
#   N=1000 SKIP_BUILD=1 OUT=/tmp/cg bash bench/callgrind.sh
#
# For each server (bench_floor, bench_lean with the token cache off) and algorithm (RS256,
# ES256), two runs under callgrind, each started fresh:
#   base: WARMUP requests with one token, then exit;
#   full: the same WARMUP requests, then N distinct tokens of the pool, each sent once.
# Instructions per request = (full - base) / N: start-up, the connection and the warm-up
# cancel out. The client (bench/send_tokens.py) sends them one at a time on one
# keep-alive connection and checks every answer is 200. Then the per-stage breakdown:
# inclusive cost per request of the pipeline's functions (bench/callgrind_stages.py over
# callgrind_annotate --inclusive=yes, the same base/full difference).
#
# Settings (environment): N=300 WARMUP=20 OUT=<dir> SKIP_BUILD=0 SERVERS="floor lean"
# BIN=target/release/examples (binaries built elsewhere, e.g. of an older commit)
# ALGS="RS256 ES256". Builds with CARGO_PROFILE_RELEASE_DEBUG=line-tables-only (the same
# build bench/load.sh uses) so callgrind_annotate can name functions.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300}
WARMUP=${WARMUP:-20}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVERS=${SERVERS:-"floor lean"}
ALGS=${ALGS:-"RS256 ES256"}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/axum-principal-callgrind.XXXXXX")}
BIN=${BIN:-target/release/examples}
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only

mkdir -p "$OUT/tokens" "$OUT/logs"
die() {
  echo "callgrind.sh: $*" >&2
  exit 1
}
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v valgrind >/dev/null 2>&1 || die "valgrind is needed (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null 2>&1 || die "callgrind_annotate is needed (valgrind)"
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
  log "cargo build --release --example bench_floor --example bench_lean --example bench_issuer"
  cargo build --release --example bench_floor --example bench_lean --example bench_issuer \
    >"$OUT/logs/build.log" 2>&1 || { tail -30 "$OUT/logs/build.log" >&2; die "build failed"; }
fi

log "minting 1 + $N tokens per algorithm"
"$BIN/bench_issuer" "$OUT/tokens" "$N" >"$OUT/logs/issuer.log" 2>&1 &
ISSUER_PID=$!
PIDS+=("$ISSUER_PID")
until [[ -f $OUT/tokens/ready ]]; do
  kill -0 "$ISSUER_PID" 2>/dev/null || { cat "$OUT/logs/issuer.log" >&2; die "bench_issuer exited"; }
  sleep 0.2
done
# The servers read the keys from jwks.json: the issuer is not needed any more.
kill "$ISSUER_PID" 2>/dev/null || true
wait "$ISSUER_PID" 2>/dev/null || true
PIDS=()

# One run under callgrind: prints the total instruction count (Ir) of the process.
profile() { # name server alg count
  local name=$1 server=$2 alg=$3 count=$4 port pid lalg=${3,,}
  port=$(free_port)
  local env=(BIND="127.0.0.1:$port" TOKIO_WORKER_THREADS=1 JWKS_FILE="$OUT/tokens/jwks.json")
  [[ $server == lean ]] &&
    env+=(ISSUER="$(cat "$OUT/tokens/issuer")" AUDIENCE="$(cat "$OUT/tokens/audience")" TOKEN_CACHE=off)
  local log_file="$OUT/logs/$name.log"
  env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.out" \
    "$BIN/bench_$server" >"$log_file" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local waited=0
  until grep -qs "listening on" "$log_file"; do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$log_file" >&2; die "$name exited"; }
    ((waited++ < 1200)) || die "$name did not start"
    sleep 0.1
  done
  local args=("127.0.0.1:$port" "$OUT/tokens/token_$lalg.txt" "$WARMUP")
  ((count > 0)) && args+=("$OUT/tokens/pool_$lalg.txt" "$count")
  python3 bench/send_tokens.py "${args[@]}" || die "$name: the client failed"
  # SIGTERM ends the process and callgrind still writes its profile (SIGINT would not do:
  # a background job of a script ignores it).
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
    log "$server $alg: base ($WARMUP warm-up requests)"
    base=$(profile "$server-${alg,,}-base" "$server" "$alg" 0)
    log "$server $alg: full ($WARMUP warm-up + $N new tokens)"
    full=$(profile "$server-${alg,,}-full" "$server" "$alg" "$N")
    per=$(((full - base) / N))
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$alg" "$base" "$full" "$per" >>"$RESULTS"
    log "$server $alg: $per instructions per new-token request"
  done
done

echo
echo "instructions per request on new tokens (callgrind, N=$N, (full - base) / N)"
awk -F'\t' '
  { per[$1 "|" $2] = $5; algs[$2] = 1 }
  END {
    printf "%-6s %12s %12s %10s\n", "alg", "floor", "lean", "lean/floor"
    for (a in algs) {
      f = per["floor|" a]; l = per["lean|" a]
      printf "%-6s %12d %12d %10s\n", a, f, l, (f > 0 && l > 0) ? sprintf("%.3f", l / f) : "n/a"
    }
  }' "$RESULTS"
for alg in $ALGS; do
  for server in $SERVERS; do
    echo
    echo "== $server $alg: inclusive instructions per request, by stage"
    python3 bench/callgrind_stages.py "$server" "$OUT/$server-${alg,,}-base.out" \
      "$OUT/$server-${alg,,}-full.out" "$N"
  done
done
echo
echo "profiles: $OUT/*.out (callgrind_annotate --inclusive=yes FILE); results: $RESULTS"
