-- wrk script: send a set of pre-built raw HTTP requests round-robin (each connection's
-- thread walks the list from its own offset). BENCH_REQUESTS_FILE holds them, each
-- preceded by a line with its length in bytes. Used by bench/auth.py: SigV4-signed
-- requests are signed in advance, within the 15 minutes a signature stays valid.

local requests = {}
local index = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_REQUESTS_FILE"), "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local eol = data:find("\n", pos, true)
    local size = tonumber(data:sub(pos, eol - 1))
    requests[#requests + 1] = data:sub(eol + 1, eol + size)
    pos = eol + size + 1
  end
  index = ((thread_id or 1) * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests_done)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
