-- bench/pool.lua: one bearer token per request, taken round-robin from a file.
--
--   wrk -tT -cC -d30s -s bench/pool.lua URL -- TOKEN_FILE [once|cycle] [MARKER_DIR] [T]
--
-- T is wrk's thread count (-t, default 1); thread i of T owns the tokens i+1, i+1+T,
-- i+1+2T, ... of the file, so the threads never send the same token.
-- once  (default): each thread stops after as many responses as it owns tokens, so every
--       token is sent once (new-token throughput on a server with a verified-token cache:
--       it never gets a hit, except for the at most C-1 requests in flight when the run
--       stops, which wrap around to the first tokens). -d is then only an upper bound.
-- cycle: each thread keeps cycling through its tokens until -d runs out (new-token
--       throughput on a server without a token cache: every request is verified in full).
--
-- Stopping early (once): wrk's thread:stop() ends the thread, but wrk's main thread sleeps
-- for the whole -d and divides by it, so wrk's own req/s is wrong for a run that stops early.
-- With MARKER_DIR, thread i creates MARKER_DIR/start.i just before its first request and
-- MARKER_DIR/done.i (holding its number of responses) at its last response: bench/load.sh
-- takes the run's duration from the first start to the last done (modification times, ns
-- resolution) and then ends wrk with SIGINT (its handler ends that sleep). The thread that
-- finds every done.* file written sends wrk that SIGINT itself, which usually ends the run
-- at once.

local threads_made = 0
-- Runs in wrk's main Lua state once per thread, before the thread's init().
function setup(thread)
  thread:set("id", threads_made)
  threads_made = threads_made + 1
end

local tokens = {}    -- this thread's requests, ready to send
local n = 0          -- tokens owned by this thread
local k = 0          -- requests built so far
local seen = 0       -- responses seen so far
local once = true
local markers = nil
local threads = 1

local function path(name)
  return markers .. "/" .. name .. "." .. tostring(id)
end

local function touch(name, content)
  if markers then
    local f = io.open(path(name), "w")
    if f then
      f:write(content or "")
      f:close()
    end
  end
end

local function all_done()
  if not markers then return true end
  for i = 0, threads - 1 do
    local f = io.open(markers .. "/done." .. tostring(i), "r")
    if not f then return false end
    f:close()
  end
  return true
end

function init(args)
  local file = args[1] or error("pool.lua: pass the token file after --")
  once = (args[2] or "once") == "once"
  markers = args[3]
  if markers == "" then markers = nil end
  threads = tonumber(args[4] or "1")
  id = id or 0
  local i = 0
  for line in io.lines(file) do
    if #line > 0 then
      if i % threads == id then
        n = n + 1
        -- Built once here, so that request() does no Lua work beyond a table lookup: the
        -- client must not be what limits the rate.
        tokens[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. line })
      end
      i = i + 1
    end
  end
  if n == 0 then error("pool.lua: no tokens for thread " .. id .. " in " .. file) end
end

function request()
  k = k + 1
  if k == 1 then touch("start") end
  return tokens[(k - 1) % n + 1]
end

function response(status, headers, body)
  seen = seen + 1
  if once and seen == n then
    touch("done", tostring(seen) .. "\n")
    wrk.thread:stop()
    if all_done() then
      -- The shell's parent is wrk. Not os.execute: system() ignores SIGINT while it runs.
      local sh = io.popen("kill -INT $PPID")
      if sh then sh:close() end
    end
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
