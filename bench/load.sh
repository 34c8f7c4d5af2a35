#!/usr/bin/env bash
# bench/load.sh: a bounded loopback load test of five servers, side by side.
#
#   bare     bench/src/bin/bare.rs      Axum, GET /me -> 200 "ok"                 (reference)
#   floor    bench/src/bin/floor.rs     the signature alone, keys parsed once     (true floor)
#   lean     bench/src/bin/lean.rs      bare's /me behind AuthLayer, token cache off
#   leanc    bench/src/bin/lean.rs      the same with the token cache on
#   example  examples/protected_api.rs  the example service, GET /me              (the real thing)
#
# against a mock issuer (bench/src/bin/issuer.rs) that writes its tokens to files.
# Each server runs on core $SERVER_CPU (taskset, TOKIO_WORKER_THREADS=1); wrk runs on core
# $LOAD_CPU with $THREADS threads and $CONNS connections. Runs, per round:
#   bare once; floor and example x {RS256, ES256} x {one token for every request ("one"),
#   a pool of distinct tokens ("pool")}; lean x {RS256, ES256} x pool;
#   leanc x {RS256, ES256} x one (the token-cache hit path).
# Every run starts its server fresh (so the example's verified-token cache is empty), warms
# it up for $WARMUP s with the single token, then measures. "one" runs last $DURATION s.
# "pool" runs on floor and lean (no token cache: every request is a full verification)
# cycle through the pool for $DURATION s; on the example (which caches verified tokens)
# they stop when every token of the pool has been sent once (at most $POOL_MAX s).
# Rounds alternate the order (forward, reverse, ...) so drift and machine noise show.
#
# Everything binds 127.0.0.1 and is killed on exit. Settings (environment):
#   ROUNDS=2 DURATION=10 WARMUP=3 THREADS=2 CONNS=64 POOL_SIZE=10000 POOL_MAX=30
#   CLAIMS=real (Auth0-shaped user tokens, 16 claims, ~1 150 bytes with RS256) or small
#   (7 claims, the tokens measured before)
#   SERVER_CPU=0 LOAD_CPU=1 OUT=<dir for tokens, logs, results> SKIP_BUILD=0
#   ONLY=<extended regex over "server alg mode": run only the cases it matches, e.g.
#   ONLY='^(bare|leanc)' for the cache-hit comparison>
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
POOL_SIZE=${POOL_SIZE:-10000}
CLAIMS=${CLAIMS:-real}
POOL_MAX=${POOL_MAX:-30}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/axum-principal-load.XXXXXX")}
SKIP_BUILD=${SKIP_BUILD:-0}
BIN=target/release
# The bench servers: the library at its default features.
BUILD_BENCH="-p axum-principal-bench --bins"
# The example service (the root package's example), with the library at the features the
# example itself asks for (the root package's own defaults add `metrics`, for the tests).
BUILD_EXAMPLE="-p axum-principal-workspace --no-default-features --features aws-lc-rs --example protected_api"
# The same build as bench/callgrind.sh (line tables do not change the code, only let
# callgrind_annotate name functions), so running both costs one release build.
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only

mkdir -p "$OUT/tokens" "$OUT/logs"
RESULTS="$OUT/results.tsv"
: >"$RESULTS"

die() {
  echo "load.sh: $*" >&2
  exit 1
}
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools ------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "wrk not found: installing it with apt-get"
    { apt-get update -qq && apt-get install -y -qq wrk; } >"$OUT/logs/apt.log" 2>&1 ||
      die "could not install wrk (see $OUT/logs/apt.log); install it (apt-get install wrk) and retry"
  else
    die "wrk is not installed; install it (e.g. sudo apt-get install wrk) and retry"
  fi
fi
command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is needed to pin the processes"
command -v curl >/dev/null 2>&1 || die "curl is needed to check the servers"
cpus=$(nproc)
if ((cpus < 2)); then
  log "warning: only $cpus CPU: server and wrk share core 0; ratios still hold, absolute numbers do not"
  SERVER_CPU=0 LOAD_CPU=0
fi

# --- cleanup: everything started here, by pid -------------------------------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits for a process started here (after killing it unless told "wait") and forgets it.
stop_pid() { # pid [wait]
  local pid=$1 keep=() p
  [[ ${2:-} == wait ]] || kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# CPU time (user + system, all threads) a process has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# shellcheck source=bench/lib.sh
source bench/lib.sh

# --- build ------------------------------------------------------------------------------
# Two builds, so that each gets the library at its own features (one cargo invocation
# would unify them).
if [[ $SKIP_BUILD != 1 ]]; then
  for args in "$BUILD_BENCH" "$BUILD_EXAMPLE"; do
    log "cargo build --release $args"
    # shellcheck disable=SC2086
    cargo build --release $args >>"$OUT/logs/build.log" 2>&1 ||
      { tail -30 "$OUT/logs/build.log" >&2; die "build failed"; }
  done
fi
for b in bare floor lean issuer; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing (build with: cargo build --release $BUILD_BENCH)"
done
[[ -x $BIN/examples/protected_api ]] ||
  die "$BIN/examples/protected_api is missing (build with: cargo build --release $BUILD_EXAMPLE)"

# --- the issuer and its tokens ----------------------------------------------------------
log "minting tokens (1 + $POOL_SIZE per algorithm, $CLAIMS claims) with the bench's issuer"
started=$SECONDS
# A `ready` left by an earlier run in the same $OUT would let the wait below pass before the
# issuer rewrote the keys and tokens (a mix of old and new: 401s).
rm -f "$OUT/tokens/ready"
"$BIN/issuer" "$OUT/tokens" "$POOL_SIZE" "$CLAIMS" >"$OUT/logs/issuer.log" 2>&1 &
ISSUER_PID=$!
PIDS+=("$ISSUER_PID")
until [[ -f $OUT/tokens/ready ]]; do
  kill -0 "$ISSUER_PID" 2>/dev/null || { cat "$OUT/logs/issuer.log" >&2; die "issuer exited"; }
  ((SECONDS - started < 600)) || die "issuer did not get ready in 600 s"
  sleep 0.5
done
# Minting used every core; from now on the issuer only answers the example's JWKS fetch.
taskset -a -p -c "$SERVER_CPU" "$ISSUER_PID" >/dev/null
log "tokens ready in $((SECONDS - started)) s: $(grep -c . "$OUT/tokens/pool_rs256.txt") RS256 ($(token_bytes "$OUT/tokens/pool_rs256.txt") bytes on average) + $(grep -c . "$OUT/tokens/pool_es256.txt") ES256 ($(token_bytes "$OUT/tokens/pool_es256.txt") bytes) in the pools"
ISSUER=$(cat "$OUT/tokens/issuer")
AUDIENCE=$(cat "$OUT/tokens/audience")

# --- servers ----------------------------------------------------------------------------
SERVER_PID=
SERVER_URL=
start_server() { # name [attempt]
  local name=$1 attempt=${2:-1} port
  port=$(free_port)
  local env=(BIND="127.0.0.1:$port" TOKIO_WORKER_THREADS=1)
  case $name in
  bare) ;;
  floor) env+=(JWKS_FILE="$OUT/tokens/jwks.json") ;;
  lean | leanc)
    env+=(JWKS_FILE="$OUT/tokens/jwks.json" ISSUER="$ISSUER" AUDIENCE="$AUDIENCE")
    if [[ $name == lean ]]; then env+=(TOKEN_CACHE=off); else env+=(TOKEN_CACHE=on); fi
    ;;
  example) env+=(AUTHZ_ISSUER="$ISSUER" AUTHZ_AUDIENCE="$AUDIENCE") ;;
  esac
  local bin=$name
  [[ $name == example ]] && bin=examples/protected_api
  [[ $name == leanc ]] && bin=lean
  env "${env[@]}" taskset -c "$SERVER_CPU" "$BIN/$bin" >>"$OUT/logs/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_URL="http://127.0.0.1:$port/me"
  # Up when a request with a valid token answers 200 (for the example: keys fetched).
  local token code
  token=$(cat "$OUT/tokens/token_rs256.txt")
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$SERVER_URL" || true)
    [[ $code == 200 ]] && return 0
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      stop_pid "$SERVER_PID" wait
      # Another process on this shared machine took the free port first: try another one.
      if ((attempt < 3)) && tail -2 "$OUT/logs/$name.log" | grep -q "Address already in use"; then
        start_server "$name" $((attempt + 1))
        return
      fi
      tail -5 "$OUT/logs/$name.log" >&2
      die "$name exited"
    fi
    sleep 0.1
  done
  die "$name did not answer 200 on $SERVER_URL (last status $code; see $OUT/logs/$name.log)"
}

# --- one run ----------------------------------------------------------------------------
run() { # round server alg mode
  local round=$1 server=$2 alg=$3 mode=$4
  local lalg=${alg,,} one result
  [[ $alg == - ]] && lalg=rs256 # bare reads no token; send the RS256 one anyway
  one=$(cat "$OUT/tokens/token_$lalg.txt")
  start_server "$server"
  taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -H "Authorization: Bearer $one" \
    "$SERVER_URL" >/dev/null
  local cpu0 cpu1
  cpu0=$(cpu_ticks "$SERVER_PID")
  if [[ $mode == one ]]; then
    result=$(taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
      -H "Authorization: Bearer $one" -s bench/report.lua "$SERVER_URL")
  elif [[ $server != example ]]; then
    # No token cache: cycling the pool keeps every request a new token's verification.
    result=$(taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s bench/pool.lua \
      "$SERVER_URL" -- "$OUT/tokens/pool_$lalg.txt" cycle "" "$THREADS")
  else
    # Every token once; wrk's own req/s is replaced by responses / (done - start), from the
    # marker files pool.lua writes (see there).
    local markers="$OUT/markers" wpid
    rm -rf "$markers" && mkdir -p "$markers"
    taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${POOL_MAX}s" -s bench/pool.lua \
      "$SERVER_URL" -- "$OUT/tokens/pool_$lalg.txt" once "$markers" "$THREADS" >"$OUT/wrk.out" 2>&1 &
    wpid=$!
    PIDS+=("$wpid")
    while kill -0 "$wpid" 2>/dev/null; do
      if (($(find "$markers" -name 'done.*' | wc -l) == THREADS)); then
        sleep 0.05
        kill -INT "$wpid" 2>/dev/null || true
        break
      fi
      sleep 0.02
    done
    stop_pid "$wpid" wait
    result=$(cat "$OUT/wrk.out")
  fi
  cpu1=$(cpu_ticks "$SERVER_PID")
  stop_pid "$SERVER_PID"
  echo "$result" >>"$OUT/logs/wrk.log"
  local line
  line=$(grep '^RESULT' <<<"$result") || die "no RESULT from wrk: $result"
  # RESULT requests=.. duration_us=.. rps=.. p50_us=.. p99_us=.. non2xx=.. sockerr=..
  local kv
  declare -A r=()
  for kv in ${line#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  # Server CPU per request: robust to the server being descheduled by other load.
  r[cpu_us]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$TCK" -v n="${r[requests]}" \
    'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  if [[ $mode == pool && $server == example ]]; then
    (($(find "$OUT/markers" -name 'done.*' | wc -l) == THREADS)) ||
      die "pool run did not finish its $POOL_SIZE tokens in $POOL_MAX s (raise POOL_MAX)"
    local t0 t1 seen
    t0=$(stat -c %.9Y "$OUT"/markers/start.* | sort -n | head -1)
    t1=$(stat -c %.9Y "$OUT"/markers/done.* | sort -n | tail -1)
    seen=$(cat "$OUT"/markers/done.* | awk '{ n += $1 } END { print n }')
    r[rps]=$(awk -v n="$seen" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
    r[requests]=$seen
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$alg" "$mode" \
    "${r[rps]}" "${r[p50_us]}" "${r[p99_us]}" "${r[requests]}" "${r[non2xx]}" "${r[sockerr]}" \
    "${r[cpu_us]}" >>"$RESULTS"
  log "round $round  $(printf '%-8s %-6s %-5s' "$server" "$alg" "$mode") ${r[rps]} req/s  p50 ${r[p50_us]} us  p99 ${r[p99_us]} us  server CPU ${r[cpu_us]} us/req  (${r[requests]} requests, ${r[non2xx]} non-2xx, ${r[sockerr]} socket errors)"
}

CASES=(
  "bare - one"
  "floor RS256 one" "leanc RS256 one" "example RS256 one"
  "floor ES256 one" "leanc ES256 one" "example ES256 one"
  "floor RS256 pool" "lean RS256 pool" "example RS256 pool"
  "floor ES256 pool" "lean ES256 pool" "example ES256 pool"
)
if [[ -n ${ONLY:-} ]]; then
  kept=()
  for c in "${CASES[@]}"; do [[ $c =~ $ONLY ]] && kept+=("$c"); done
  ((${#kept[@]} > 0)) || die "ONLY=$ONLY matches no case"
  CASES=("${kept[@]}")
fi
log "$ROUNDS rounds x ${#CASES[@]} runs: one-token runs ${WARMUP}+${DURATION} s, pool runs ${WARMUP} s + $POOL_SIZE requests; $CONNS connections"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2 == 1)); then
    order=("${CASES[@]}")
  else
    order=()
    for ((i = ${#CASES[@]} - 1; i >= 0; i--)); do order+=("${CASES[i]}"); done
  fi
  for c in "${order[@]}"; do
    # shellcheck disable=SC2086
    run "$round" $c
  done
done

# --- report -----------------------------------------------------------------------------
echo
echo "axum-principal load test: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, server on core $SERVER_CPU, wrk -t$THREADS -c$CONNS on core $LOAD_CPU"
echo "one = one token for every request (${DURATION} s); pool = $POOL_SIZE distinct tokens ($CLAIMS claims, RS256 $(token_bytes "$OUT/tokens/pool_rs256.txt") / ES256 $(token_bytes "$OUT/tokens/pool_es256.txt") bytes): cycled for ${DURATION} s on floor and lean (no token cache), each sent once on the example"
echo
awk -F'\t' '
  BEGIN {
    printf "%-5s %-8s %-6s %-5s %10s %9s %9s %11s %7s %9s %7s\n", "round", "server", "alg", "mode", "req/s", "p50 ms", "p99 ms", "cpu us/req", "core %", "requests", "non2xx"
  }
  {
    printf "%-5s %-8s %-6s %-5s %10.0f %9.2f %9.2f %11.1f %7.0f %9d %7d\n", $1, $2, $3, $4, $5, $6 / 1000, $7 / 1000, $11, $5 * $11 / 1e4, $8, $9 + $10
  }' "$RESULTS"
echo "core % = req/s x cpu us/req: the share of core $SERVER_CPU the server used. A server that"
echo "keeps up uses ~100 %; well below, it waited for the core (something else ran there) or"
echo "for the client, and its req/s is not comparable with the others' (its CPU per request is)."
echo
echo "ratios per round: req/s (>1: the first is faster); cpu = server CPU us per request (>1: the first costs more)"
awk -F'\t' '
  { rps[$1 "|" $2 "|" $3 "|" $4] = $5; cpu[$1 "|" $2 "|" $3 "|" $4] = $11; rounds[$1] = 1 }
  function ratio(a, b) { return (b > 0 && a > 0) ? sprintf("%.3f", a / b) : "n/a" }
  END {
    printf "%-34s", "ratio"
    n = 0; for (r in rounds) n++
    for (r = 1; r <= n; r++) printf " %9s", "round " r
    printf "\n"
    split("RS256 ES256", algs, " ")
    for (i = 1; i <= 2; i++) {
      a = algs[i]
      row("lean/floor     pool  " a, "lean|" a "|pool", "floor|" a "|pool", n)
      row("leanc/bare     one   " a, "leanc|" a "|one", "bare|-|one", n)
      crow("cpu lean/floor     pool  " a, "lean|" a "|pool", "floor|" a "|pool", n)
      crow("cpu leanc/bare     one   " a, "leanc|" a "|one", "bare|-|one", n)
      row("example/floor  pool  " a, "example|" a "|pool", "floor|" a "|pool", n)
      row("example/floor  one   " a, "example|" a "|one", "floor|" a "|one", n)
      row("example/bare   one   " a, "example|" a "|one", "bare|-|one", n)
      row("floor/bare     one   " a, "floor|" a "|one", "bare|-|one", n)
      row("example one/pool     " a, "example|" a "|one", "example|" a "|pool", n)
      crow("cpu example/floor  pool  " a, "example|" a "|pool", "floor|" a "|pool", n)
      crow("cpu example/bare   one   " a, "example|" a "|one", "bare|-|one", n)
    }
  }
  function row(label, x, y, n,   r) {
    printf "%-34s", label
    for (r = 1; r <= n; r++) printf " %9s", ratio(rps[r "|" x], rps[r "|" y])
    printf "\n"
  }
  function crow(label, x, y, n,   r) {
    printf "%-34s", label
    for (r = 1; r <= n; r++) printf " %9s", ratio(cpu[r "|" x], cpu[r "|" y])
    printf "\n"
  }' "$RESULTS"
bad=$(awk -F'\t' '$9 + $10 > 0' "$RESULTS" | wc -l)
if ((bad > 0)); then
  echo
  echo "WARNING: $bad run(s) had non-2xx answers or socket errors: see $OUT/logs" >&2
fi
echo
echo "raw results: $RESULTS; logs: $OUT/logs"
