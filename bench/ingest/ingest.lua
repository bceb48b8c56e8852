-- Signed GitHub webhook load for wrk, every request a distinct alert: body N is PREFIX .. N .. SUFFIX
-- (the real fixture with its alert number replaced) signed with its own signature, both made by
-- ring.py, and a fresh X-GitHub-Delivery per request. A repeated body would be a duplicate (security
-- alert deliveries are deduplicated by content since pull mode), stored once and then only looked up.
-- Environment: RING (ring.py's output directory), EVENT (default dependabot_alert), DELIVERY_PREFIX
-- (optional, keeps several wrk processes' delivery ids apart; give each its own RING range too).
-- One wrk thread (-t1) per process: each thread reads the ring from its start.
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("*a"); f:close(); return s
end
local ring = os.getenv("RING")
local prefix, suffix = slurp(ring .. "/prefix"), slurp(ring .. "/suffix")
local numbers, sigs = {}, {}
for line in io.lines(ring .. "/sigs") do
  local number, sig = line:match("^(%d+) (%S+)$")
  numbers[#numbers + 1] = number; sigs[#sigs + 1] = sig
end
local n, exhausted = 0, 0
local tag = (os.getenv("DELIVERY_PREFIX") or "") .. tostring(math.random(1, 1e9))
local headers = {
  ["Content-Type"] = "application/json",
  ["X-GitHub-Event"] = os.getenv("EVENT") or "dependabot_alert",
}
request = function()
  n = n + 1
  local i = n
  if i > #sigs then exhausted = exhausted + 1; i = (n - 1) % #sigs + 1 end
  headers["X-Hub-Signature-256"] = sigs[i]
  headers["X-GitHub-Delivery"] = string.format("bench-%d-%s-%d", os.time(), tag, n)
  return wrk.format("POST", nil, headers, prefix .. numbers[i] .. suffix)
end

-- done() runs in wrk's main Lua state: the threads' counters are read through setup()'s handles.
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary, latency, requests)
  local exhausted = 0
  for _, thread in ipairs(threads) do exhausted = exhausted + (thread:get("exhausted") or 0) end
  io.write(string.format("JSON {\"requests\": %d, \"duration_s\": %.2f, \"rps\": %.0f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"non_2xx\": %d, \"socket_errors\": %d, \"ring_repeats\": %d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    exhausted))
end
