-- wrk script of replicas_test.sh: each request POSTs the photo named by $REPLICAS_IMAGE to the URL wrk was
-- given (nginx's /v1/detect). At the end it prints, for the test to read:
--   status CODE COUNT             answers by HTTP status
--   bad EPOCH_SECOND CODE COUNT   answers outside 2xx, by the second they came in (to match with the kills)
--   socket_errors connect=N read=N write=N timeout=N
--   requests N                    answers in all
local photo = assert(io.open(assert(os.getenv("REPLICAS_IMAGE"), "REPLICAS_IMAGE is not set"), "rb"))
wrk.method = "POST"
wrk.body = photo:read("*a")
photo:close()
wrk.headers["Content-Type"] = "image/jpeg"

-- Each wrk thread runs its own copy of this script; done() sums the threads' tables.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

statuses = {}
bad = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    local key = os.time() .. " " .. status
    bad[key] = (bad[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local by_status, by_second = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses") or {}) do by_status[k] = (by_status[k] or 0) + v end
    for k, v in pairs(thread:get("bad") or {}) do by_second[k] = (by_second[k] or 0) + v end
  end
  for k, v in pairs(by_status) do io.write(string.format("status %d %d\n", k, v)) end
  for k, v in pairs(by_second) do io.write(string.format("bad %s %d\n", k, v)) end
  local e = summary.errors
  io.write(string.format("socket_errors connect=%d read=%d write=%d timeout=%d\n", e.connect, e.read, e.write,
                         e.timeout))
  io.write(string.format("requests %d\n", summary.requests))
end
