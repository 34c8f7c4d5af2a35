-- bench/report.lua: prints one machine-readable RESULT line at the end of a wrk run.
-- Used by bench/load.sh for the one-token runs (the request itself stays static: the token
-- is passed with -H, so wrk does no per-request Lua work).

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
