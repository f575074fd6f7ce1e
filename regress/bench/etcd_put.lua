-- wrk script: etcd's JSON gateway, POST /v3/kv/put of a 100-byte value
-- to one of 1000 keys per request (the load of kv_put.lua).
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
	local out = {}
	for i = 1, #s, 3 do
		local a, b, c = s:byte(i, i + 2)
		local n = a * 65536 + (b or 0) * 256 + (c or 0)
		local c1 = math.floor(n / 262144) % 64
		local c2 = math.floor(n / 4096) % 64
		local c3 = math.floor(n / 64) % 64
		local c4 = n % 64
		out[#out + 1] = b64:sub(c1 + 1, c1 + 1) .. b64:sub(c2 + 1, c2 + 1) ..
		    (b and b64:sub(c3 + 1, c3 + 1) or "=") ..
		    (c and b64:sub(c4 + 1, c4 + 1) or "=")
	end
	return table.concat(out)
end
local value = base64(string.rep("v", 100))
local bodies = {}
for i = 0, 999 do
	bodies[i] = '{"key":"' .. base64("bench/" .. i) .. '","value":"' ..
	    value .. '"}'
end
local headers = { ["Content-Type"] = "application/json" }
local n = 0
request = function()
	n = n + 1
	return wrk.format("POST", "/v3/kv/put", headers, bodies[n % 1000])
end
