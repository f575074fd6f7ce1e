-- wrk script: etcd's JSON gateway, POST /v3/kv/range of one key
-- ("bench/read"); linearizable, or serializable with `-- serializable`.
-- base64("bench/read") = YmVuY2gvcmVhZA==
init = function(args)
	local extra = ""
	if args[1] == "serializable" then
		extra = ',"serializable":true'
	end
	wrk.method = "POST"
	wrk.path = "/v3/kv/range"
	wrk.headers["Content-Type"] = "application/json"
	wrk.body = '{"key":"YmVuY2gvcmVhZA=="' .. extra .. '}'
end
