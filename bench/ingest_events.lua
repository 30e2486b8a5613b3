-- wrk script of bench/ingest_throughput.py: POST pre-built ingestion bodies.
-- wrk ... -s ingest_events.lua URL -- BODIES_FILE RUN_ID INGEST_TOKEN PATH
-- Every "RQID" token in a body is replaced by an id unique to this run, thread and
-- request (the bodies write RQID-<n> per event), so every event and visitor is new.
local bodies = {}
local pieces = {}
local counter = 0
local sent = 0
local threads = 0
local headers = {}
local path = "/"

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local function split(body)
  local out, start = {}, 1
  while true do
    local i, j = string.find(body, "RQID", start, true)
    if not i then
      out[#out + 1] = body:sub(start)
      return out
    end
    out[#out + 1] = body:sub(start, i - 1)
    start = j + 1
  end
end

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
    pieces[#pieces + 1] = split(line)
  end
  prefix = args[2] .. "t" .. tid .. "r"
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. args[3]
  path = args[4]
  counter = (tid * 997) % #bodies
end

function request()
  counter = counter % #bodies + 1
  sent = sent + 1
  return wrk.format("POST", path, headers, table.concat(pieces[counter], prefix .. sent))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
