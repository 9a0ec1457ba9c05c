-- wrk's script for `make bench` (tests/bench_load.py). It counts every answer that is not 2xx
-- (wrk alone counts only 4xx and 5xx), and for a POST sends each line of the file named after
-- "--" as one body, each once: the booking POSTs are all for different free times. A thread
-- whose bodies run out stops, and the summary says so.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

non_2xx = 0
ran_out = 0
local bodies = {}
local next_body = 1
local fixed = nil
local posting = false
local probe_pending = false
local post_headers = {}

function init(args)
  fixed = wrk.format()
  if args[1] == nil then
    return
  end
  posting = true
  probe_pending = (id == 0)  -- wrk calls thread 0's request() once to check it, and sends nothing
  local thread_count = tonumber(args[2])
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % thread_count == id then  -- each thread its own share: no body sent twice
      table.insert(bodies, line)
    end
    line_number = line_number + 1
  end
  for name, value in pairs(wrk.headers) do
    post_headers[name] = value
  end
  post_headers["Content-Type"] = "application/json"
end

function request()
  if not posting then
    return fixed
  end
  if probe_pending then
    probe_pending = false
    return wrk.format("POST", nil, post_headers, bodies[1] or "{}")  -- the first body is still to send
  end
  if next_body > #bodies then
    ran_out = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local body = bodies[next_body]
  next_body = next_body + 1
  return wrk.format("POST", nil, post_headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local counted, stopped = 0, 0
  for _, thread in ipairs(threads) do
    counted = counted + thread:get("non_2xx")
    stopped = math.max(stopped, thread:get("ran_out"))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.6f, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "ran_out": %d}\n',
    summary.requests, summary.duration / 1e6, counted,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, stopped))
end
