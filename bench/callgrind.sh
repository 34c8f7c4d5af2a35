#!/usr/bin/env bash
# bench/callgrind.sh: instructions per request, counted by valgrind's callgrind (repeatable
# on a shared machine: it counts instructions, not seconds), on new tokens (the lean server
# vs the floor) and on one repeated token (the lean server with its token cache on vs bare
# Axum).
#
#   bash bench/callgrind.sh                       # N=300 tokens per algorithm
#   N=1000 SKIP_BUILD=1 OUT=/tmp/cg bash bench/callgrind.sh
#   CLAIMS=small bash bench/callgrind.sh          # the earlier 7-claim tokens
#
# For each server and algorithm (RS256, ES256), two runs under callgrind, each started fresh:
#   base: WARMUP requests with one token, then exit;
#   full: the same WARMUP requests, then N more requests:
#         floor, lean (`lean`, token cache off): N distinct tokens of the pool, each once;
#         leanc (`lean`, token cache on), bare (`bare`, reads no token, run once):
#         the warm-up token N more times (after the warm-up, every lean request is a hit).
# Instructions per request = (full - base) / N: start-up, the connection and the warm-up
# cancel out. The client (bench/send_tokens.py) sends them one at a time on one
# keep-alive connection and checks every answer is 200. Then the per-stage breakdown:
# inclusive cost per request of the pipeline's functions (bench/callgrind_stages.py over
# callgrind_annotate --inclusive=yes, the same base/full difference).
#
# The servers and the token minter are the bench package's binaries (bench/src/bin/).
# Settings (environment): N=300 WARMUP=20 OUT=<dir> SKIP_BUILD=0 SERVERS="floor lean bare leanc"
# BIN=target/release (binaries built elsewhere, e.g. of an older commit)
# ALGS="RS256 ES256" CLAIMS=real (Auth0-shaped user tokens, 16 claims, ~1 150 bytes with
# RS256) or small (7 claims, the tokens measured before). Builds with
# CARGO_PROFILE_RELEASE_DEBUG=line-tables-only (the same build bench/load.sh uses) so
# callgrind_annotate can name functions.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300}
WARMUP=${WARMUP:-20}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVERS=${SERVERS:-"floor lean bare leanc"}
ALGS=${ALGS:-"RS256 ES256"}
CLAIMS=${CLAIMS:-real}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/axum-principal-callgrind.XXXXXX")}
BIN=${BIN:-target/release}
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
  # The library at its default features, as bench/load.sh builds it.
  log "cargo build --release -p axum-principal-bench --bins"
  cargo build --release -p axum-principal-bench --bins \
    >"$OUT/logs/build.log" 2>&1 || { tail -30 "$OUT/logs/build.log" >&2; die "build failed"; }
fi

log "minting 1 + $N tokens per algorithm ($CLAIMS claims)"
# A `ready` left by an earlier run in the same $OUT would let the wait below pass before the
# issuer rewrote the keys and tokens (a mix of old and new: 401s).
rm -f "$OUT/tokens/ready"
"$BIN/issuer" "$OUT/tokens" "$N" "$CLAIMS" >"$OUT/logs/issuer.log" 2>&1 &
ISSUER_PID=$!
PIDS+=("$ISSUER_PID")
until [[ -f $OUT/tokens/ready ]]; do
  kill -0 "$ISSUER_PID" 2>/dev/null || { cat "$OUT/logs/issuer.log" >&2; die "issuer exited"; }
  sleep 0.2
done
# The one-token runs send the warm-up token again, N times.
for alg in rs256 es256; do
  for _ in $(seq 1 "$N"); do cat "$OUT/tokens/token_$alg.txt"; echo; done >"$OUT/tokens/repeat_$alg.txt"
done
# The servers read the keys from jwks.json: the issuer is not needed any more.
kill "$ISSUER_PID" 2>/dev/null || true
wait "$ISSUER_PID" 2>/dev/null || true
PIDS=()

# One run under callgrind: prints the total instruction count (Ir) of the process.
profile() { # name server alg count [attempt]
  local name=$1 server=$2 alg=$3 count=$4 attempt=${5:-1} port pid lalg=${3,,}
  port=$(free_port)
  local env=(BIND="127.0.0.1:$port" TOKIO_WORKER_THREADS=1 JWKS_FILE="$OUT/tokens/jwks.json")
  local bin=$server pool=pool_$lalg
  case $server in
  lean | leanc)
    bin=lean
    env+=(ISSUER="$(cat "$OUT/tokens/issuer")" AUDIENCE="$(cat "$OUT/tokens/audience")")
    if [[ $server == lean ]]; then env+=(TOKEN_CACHE=off); else env+=(TOKEN_CACHE=on); fi
    ;;
  esac
  [[ $server == leanc || $server == bare ]] && pool=repeat_$lalg
  local log_file="$OUT/logs/$name.log"
  # Per instruction (--dump-instr=yes), so that callgrind_stages.py can follow inlined code
  # back to the library's source lines; the counts are the same.
  env "${env[@]}" valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$OUT/$name.out" \
    "$BIN/$bin" >"$log_file" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local waited=0
  until grep -qs "listening on" "$log_file"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      PIDS=()
      # Another process on this shared machine took the free port first: try another one.
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
  local args=("127.0.0.1:$port" "$OUT/tokens/token_$lalg.txt" "$WARMUP")
  ((count > 0)) && args+=("$OUT/tokens/$pool.txt" "$count")
  # profile runs in a command substitution, a subshell without the EXIT trap: a failure
  # here stops the server itself.
  python3 bench/send_tokens.py "${args[@]}" || { kill "$pid"; die "$name: the client failed"; }
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
    # Bare reads no token: one run is enough (under the first algorithm's name).
    [[ $server == bare && $alg != "${ALGS%% *}" ]] && continue
    log "$server $alg: base ($WARMUP warm-up requests)"
    base=$(profile "$server-${alg,,}-base" "$server" "$alg" 0)
    log "$server $alg: full ($WARMUP warm-up + $N new tokens)"
    full=$(profile "$server-${alg,,}-full" "$server" "$alg" "$N")
    per=$(((full - base) / N))
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$alg" "$base" "$full" "$per" >>"$RESULTS"
    log "$server $alg: $per instructions per request"
  done
done

echo
echo "instructions per request (callgrind, N=$N, (full - base) / N; $CLAIMS claims, mean token bytes:" \
  "RS256 $(token_bytes "$OUT/tokens/pool_rs256.txt"), ES256 $(token_bytes "$OUT/tokens/pool_es256.txt"))"
echo "new tokens: lean (cache off) vs floor; one repeated token: leanc (cache on) vs bare"
awk -F'\t' '
  { per[$1 "|" $2] = $5; algs[$2] = 1; if ($1 == "bare") bare = $5 }
  function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.3f", a / b) : "n/a" }
  END {
    printf "%-6s %10s %10s %10s %10s %10s %11s\n", "alg", "floor", "lean", "lean/floor", "bare", "leanc", "leanc/bare"
    for (a in algs) {
      f = per["floor|" a]; l = per["lean|" a]; c = per["leanc|" a]
      printf "%-6s %10d %10d %10s %10d %10d %11s\n", a, f, l, ratio(l, f), bare, c, ratio(c, bare)
    }
  }' "$RESULTS"
for alg in $ALGS; do
  for server in $SERVERS; do
    [[ $server == bare && $alg != "${ALGS%% *}" ]] && continue
    echo
    echo "== $server $alg: inclusive instructions per request, by stage"
    python3 bench/callgrind_stages.py "$server" "$OUT/$server-${alg,,}-base.out" \
      "$OUT/$server-${alg,,}-full.out" "$N"
  done
done
echo
echo "profiles: $OUT/*.out (callgrind_annotate --inclusive=yes FILE); results: $RESULTS"
