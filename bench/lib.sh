# bench/lib.sh: helpers shared by bench/load.sh and bench/callgrind.sh (sourced; the caller
# defines `die`).

# A loopback port nothing listens on.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free loopback port found"
}

# The mean length in bytes of the tokens in a pool file (one per line).
token_bytes() {
  awk 'NF { n++; b += length($0) } END { printf "%d", (n ? b / n : 0) }' "$1"
}
