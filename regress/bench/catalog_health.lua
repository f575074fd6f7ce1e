-- wrk script: GET /v1/health/service/svc-NNNN?passing, the 1,000 names
-- that catalog_load.py registered, in turn.
local n = 0

request = function()
	n = n + 1
	return wrk.format("GET", string.format(
	    "/v1/health/service/svc-%04d?passing", n % 1000))
end
