-- wrk: cycle through what a dashboard viewer and an inventory user request, and count every
-- answer that is not a 200 (wrk itself counts only 4xx/5xx, and a redirect to the log-in
-- page would hide a lost session).
-- The dashboard is its page plus every tile (tests/project/test_bench.py keeps this list
-- complete when a tile is added).
local paths = {
  "/",
  "/dashboard/tiles/resources/",
  "/dashboard/tiles/running_vms/",
  "/dashboard/tiles/storage/",
  "/dashboard/tiles/cost_mtd/",
  "/dashboard/tiles/by_provider/",
  "/dashboard/tiles/cost_by_provider/",
  "/dashboard/tiles/health/",
  "/dashboard/tiles/activity/",
  "/dashboard/tiles/budget_alerts/",
  "/dashboard/tiles/cost_anomalies/",
  "/dashboard/tiles/savings/",
  "/dashboard/tiles/drift/",
  "/dashboard/freshness/",
  "/inventory/",
  "/inventory/?provider=aws&type=vm&status=running",
  "/inventory/?page=20&per_page=50",
  "/inventory/?q=node-0004",
  "/inventory/?region=gcp-region-3&sort=-last_seen",
}
local threads = {}
local i = 0
not_ok = 0

setup = function(thread)
  table.insert(threads, thread)
end

request = function()
  i = i + 1
  local path = paths[(i % #paths) + 1]
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end  -- the -H cookie
  if string.find(path, "tiles") or string.find(path, "freshness") then
    headers["HX-Request"] = "true"
  end
  return wrk.format("GET", path, headers)
end

response = function(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("not_ok")
  end
  io.write(string.format("Answers other than 200: %d\n", total))
end
