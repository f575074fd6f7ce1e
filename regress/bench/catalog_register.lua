-- wrk script: PUT /v1/catalog/register, each request a node of its own
-- (named by wrk thread and sequence number) with one service instance.
local threads = 0
local seq = 0

setup = function(thread)
	threads = threads + 1
	thread:set("id", threads)
end

request = function()
	seq = seq + 1
	local node = "reg-" .. id .. "-" .. seq
	local body = '{"Node":"' .. node .. '","Address":"10.8.0.1",' ..
	    '"Service":{"Service":"reg-' .. (seq % 100) .. '",' ..
	    '"Port":8080,"Tags":["bench"]}}'
	return wrk.format("PUT", "/v1/catalog/register", nil, body)
end
