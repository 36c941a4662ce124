-- POST /v3/session/ for the workflow in $BENCH_WORKFLOW: a new session each time.
function init(args)
  key = os.getenv("BENCH_KEY")
  body = '{"workflow_id":"' .. os.getenv("BENCH_WORKFLOW") .. '","callback":"https://example.com/done","metadata":{"source":"bench"}}'
end

function request()
  return wrk.format("POST", "/v3/session/", { ["x-api-key"] = key, ["content-type"] = "application/json" }, body)
end
