-- bench/pool.lua: one bearer token per request, taken round-robin from a file.
--
--   wrk -t1 -c32 -d30s -s bench/pool.lua URL -- TOKEN_FILE [once|cycle] [MARKER_DIR]
--
-- once  (default): stop after as many responses as there are tokens, so every token is
--       sent once (new-token throughput: a server with a verified-token cache never gets a
--       hit, except for the at most CONNECTIONS-1 requests in flight when the run stops,
--       which wrap around to the first tokens). -d is then only an upper bound.
-- cycle: keep cycling through the pool until -d runs out.
--
-- Stopping early: wrk's thread:stop() ends the thread, but wrk's main thread sleeps for the
-- whole -d and divides by it, so wrk's own req/s is wrong for a run that stops early. With
-- MARKER_DIR, the script creates MARKER_DIR/start just before the first request and
-- MARKER_DIR/done (holding the number of responses) at the last response: bench/load.sh
-- takes the run's duration from the two files' modification times (ns resolution) and
-- then ends wrk with SIGINT (its handler ends that sleep). The thread also sends wrk a
-- SIGINT itself, which usually ends the run at once. Use -t1 with "once".

local tokens = {}
local n = 0          -- tokens owned by this thread
local k = 0          -- requests built so far
local seen = 0       -- responses seen so far
local once = true
local markers = nil

local function touch(name, content)
  if markers then
    local f = io.open(markers .. "/" .. name, "w")
    if f then
      f:write(content or "")
      f:close()
    end
  end
end

function init(args)
  local file = args[1] or error("pool.lua: pass the token file after --")
  once = (args[2] or "once") == "once"
  markers = args[3]
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      tokens[n] = "Bearer " .. line
    end
  end
  if n == 0 then error("pool.lua: no tokens in " .. file) end
end

function request()
  k = k + 1
  if k == 1 then touch("start") end
  local headers = { ["Authorization"] = tokens[(k - 1) % n + 1] }
  return wrk.format("GET", nil, headers)
end

function response(status, headers, body)
  seen = seen + 1
  if once and seen == n then
    touch("done", tostring(seen) .. "\n")
    wrk.thread:stop()
    -- The shell's parent is wrk. Not os.execute: system() ignores SIGINT while it runs.
    local sh = io.popen("kill -INT $PPID")
    if sh then sh:close() end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
