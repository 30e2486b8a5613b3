-- wrk script of bench/sandbox_track.py: POST pre-built /users/track bodies.
-- wrk ... -s sandbox_track.lua URL -- BODIES_FILE unique|same RUN_ID API_KEY
-- BODIES_FILE holds one JSON body per line. With "unique", the token RQID in every email is
-- replaced by an id unique to this run, thread and request, so every object is a new user.
local bodies = {}
local pieces = {}
local counter = 0
local sent = 0
local threads = 0
local headers = {}

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
  unique = args[2] == "unique"
  prefix = args[3] .. "t" .. tid .. "r"
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. args[4]
  counter = (tid * 997) % #bodies
end

function request()
  counter = counter % #bodies + 1
  sent = sent + 1
  local body = bodies[counter]
  if unique then body = table.concat(pieces[counter], prefix .. sent) end
  return wrk.format("POST", "/users/track", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
