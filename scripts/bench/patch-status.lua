-- PATCH …/update-status/ over the ids in $BENCH_IDS, alternating Approved and
-- Declined per session. Thread t takes slots t-1, t-1+T, …; with an even id
-- count each session stays on one thread, so no two requests for one session
-- are in flight together and every request is a real transition.
--
-- Every request this thread will send is formatted once, in init: wrk runs
-- on the same cores as the server, and formatting each request in Lua as it
-- goes cost about twice the client CPU of the /health stage, which sends a
-- fixed request.
local next_id = 1
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  local ids = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local key = os.getenv("BENCH_KEY")
  local headers = { ["x-api-key"] = key, ["content-type"] = "application/json" }
  -- This thread's slots cover its ids once per round; two rounds (Approved,
  -- then Declined) repeat forever.
  requests = {}
  for round = 0, 1 do
    local status = (round == 0) and "Approved" or "Declined"
    local slot = tid - 1 + round * #ids
    while slot < (round + 1) * #ids do
      requests[#requests + 1] = wrk.format("PATCH", "/v3/session/" .. ids[(slot % #ids) + 1] .. "/update-status/",
        headers, '{"new_status":"' .. status .. '"}')
      slot = slot + threads
    end
  end
  sent = 0
end

function request()
  sent = sent + 1
  return requests[((sent - 1) % #requests) + 1]
end
