-- wrk script for tests/bench/inbound: POST /api/v1/inbound with a unique external_id per request,
-- from one of a fixed set of known customers (the daemon's steady state: known sender, open
-- conversation, the default rule).
local counter = 0
local thread_id = 0
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "200")
local token = os.getenv("BENCH_TOKEN") or ""
local run = os.getenv("BENCH_RUN") or "r"

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
  counter = counter + 1
  local cust = math.random(1, customers)
  local body = string.format(
    '{"external_id":"wrk-%s-%d-%d","from":{"address":"bench%d@example.pl"},"text":"Pytanie o zamówienie numer %d"}',
    run, tid or 0, counter, cust, counter)
  return wrk.format("POST", "/api/v1/inbound",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
