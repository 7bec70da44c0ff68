-- wrk script for tests/bench/webhooks. BENCH_KIND selects the requests:
--   api     tests/bench/inbound.lua's own requests (the spine's figure), counted
--   meta    POST /webhooks/meta, signed WhatsApp text messages
--   twilio  POST /webhooks/twilio/sms?account=bench, signed SMS forms
-- The signed requests are pre-generated (tests/bench/webhooks_gen.py: Lua has no HMAC) into one
-- file per wrk thread, BENCH_REQUESTS.<thread>, one "<signature>\t<body>" a line: wrk runs one
-- Lua state per thread, and a thread only reads its own file, so no message is sent twice.
-- done() prints one "webhooks-bench" line: requests handed to the sockets and whether a thread
-- ran out of pre-generated requests (the run is then void).
local kind = os.getenv("BENCH_KIND") or "api"
local threads = {}

-- wrk calls request() once on the first thread before the run, only to check the script, and
-- never sends that request: the first thread does not count it and hands the same one out again.
local checked = false

if kind == "api" then
  dofile("tests/bench/inbound.lua")
  local api_setup, api_request = setup, request
  function setup(thread)
    api_setup(thread)
    threads[#threads + 1] = thread
  end
  sent = 0
  exhausted = 0
  function request()
    if tid ~= 1 or checked then sent = sent + 1 else checked = true end
    return api_request()
  end
else
  local path, signature_header, content_type
  if kind == "meta" then
    path, signature_header, content_type = "/webhooks/meta", "X-Hub-Signature-256", "application/json"
  elseif kind == "twilio" then
    path, signature_header, content_type =
      "/webhooks/twilio/sms?account=bench", "X-Twilio-Signature", "application/x-www-form-urlencoded"
  else
    error("BENCH_KIND must be api, meta or twilio, not " .. kind)
  end

  local data, pos = "", 1
  local thread_count = 0
  sent = 0
  exhausted = 0

  function setup(thread)
    thread_count = thread_count + 1
    thread:set("tid", thread_count)
    threads[#threads + 1] = thread
  end

  function init(args)
    local name = (os.getenv("BENCH_REQUESTS") or "") .. "." .. tid
    local f = assert(io.open(name, "rb"))
    data = f:read("*a")  -- one read: init() of the next thread runs while this one already sends
    f:close()
  end

  function request()
    local tab = data:find("\t", pos, true)
    if not tab then
      -- Out of requests: repeating one would be a duplicate. Stop this thread, mark the run void.
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    local nl = data:find("\n", tab, true)
    local r = wrk.format("POST", path,
      { ["Content-Type"] = content_type, [signature_header] = data:sub(pos, tab - 1) }, data:sub(tab + 1, nl - 1))
    if tid ~= 1 or checked then
      sent = sent + 1
      pos = nl + 1
    else
      checked = true
    end
    return r
  end
end

function done(summary, latency, requests)
  local total, out = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("sent")
    out = out + t:get("exhausted")
  end
  io.write(string.format("webhooks-bench sent=%d exhausted=%d\n", total, out))
end
