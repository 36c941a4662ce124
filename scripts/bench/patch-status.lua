-- PATCH …/update-status/ over the ids in $BENCH_IDS, alternating Approved and
-- Declined per session. Thread t takes slots t-1, t-1+T, …; with an even id
-- count each session stays on one thread, so no two requests for one session
-- are in flight together and every request is a real transition.
local next_id = 1
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  ids = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  threads = tonumber(os.getenv("BENCH_THREADS"))
  key = os.getenv("BENCH_KEY")
  sent = 0
end

function request()
  local slot = (tid - 1) + sent * threads
  sent = sent + 1
  local id = ids[(slot % #ids) + 1]
  local round = math.floor(slot / #ids)
  local status = (round % 2 == 0) and "Approved" or "Declined"
  return wrk.format("PATCH", "/v3/session/" .. id .. "/update-status/",
    { ["x-api-key"] = key, ["content-type"] = "application/json" },
    '{"new_status":"' .. status .. '"}')
end
