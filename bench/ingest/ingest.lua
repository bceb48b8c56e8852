-- Signed GitHub webhook load for wrk: one body, one signature (it covers only the body), and a
-- fresh X-GitHub-Delivery per request so every request is a new delivery that is stored and synced,
-- never a cheap duplicate. Inputs from the environment: BODY_FILE, SIG, EVENT, and DELIVERY_PREFIX
-- (optional) to keep the ids of several wrk processes apart.
local n = 0
local f = io.open(os.getenv("BODY_FILE"), "rb"); local body = f:read("*a"); f:close()
local thread_tag = (os.getenv("DELIVERY_PREFIX") or "") .. tostring(math.random(1, 1e9))
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = os.getenv("EVENT") or "dependabot_alert"
wrk.headers["X-Hub-Signature-256"] = os.getenv("SIG")
request = function()
  n = n + 1
  wrk.headers["X-GitHub-Delivery"] = string.format("bench-%d-%s-%d", os.time(), thread_tag, n)
  return wrk.format()
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"duration_s\": %.2f, \"rps\": %.0f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"non_2xx\": %d, \"socket_errors\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
