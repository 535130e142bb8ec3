-- wrk script: POST one fixed request (headers and body captured from boto3) in a loop.
-- BENCH_HEADERS_FILE: "Name: value" lines; BENCH_BODY_FILE: the body.
-- BENCH_IDS_DIR (optional): write the caseId of every HTTP 200 answer there, one file
-- per wrk thread, flushed line by line (the durability check reads them).

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = "POST"
wrk.path = "/"
wrk.body = read(os.getenv("BENCH_BODY_FILE"))
for line in io.lines(os.getenv("BENCH_HEADERS_FILE")) do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

local ids_dir = os.getenv("BENCH_IDS_DIR")
local counter = 0
local out = nil

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

if ids_dir and ids_dir ~= "" then
  function init(args)
    out = assert(io.open(ids_dir .. "/ids-" .. tostring(thread_id) .. ".txt", "w"))
    out:setvbuf("line")
  end

  function response(status, headers, body)
    if status == 200 then
      local case_id = body:match('"caseId"%s*:%s*"([^"]+)"')
      if case_id then
        out:write(case_id, "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
