-- wrk script: stop once STOP_AFTER responses have come back (shared out over 2 threads).
local limit = math.floor(tonumber(os.getenv("STOP_AFTER") or "100000") / 2)
local done = 0

response = function(status, headers, body)
  done = done + 1
  if done >= limit then
    wrk.thread:stop()
  end
end
