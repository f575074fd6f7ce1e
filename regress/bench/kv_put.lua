-- wrk script: PUT a 100-byte value to one of 1000 keys per request.
local value = string.rep("v", 100)
local n = 0
request = function()
	n = n + 1
	return wrk.format("PUT", "/v1/kv/bench/" .. (n % 1000), nil, value)
end
