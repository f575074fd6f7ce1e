#!/bin/sh
# Snapshots: consulctl snapshot save / inspect / restore through the
# HTTP API, a damaged snapshot refused with nothing changed, and Raft
# log compaction behind on-disk snapshots (raft_snapshot_threshold,
# raft_snapshot_interval, raft_trailing_logs) surviving a restart.
. "$(dirname "$0")/../lib/agent.sh"

cat > "$test_tmp/snap.json" <<'JSON'
{ "raft_snapshot_threshold": 50, "raft_snapshot_interval": "1s",
  "raft_trailing_logs": 10 }
JSON
data_dir="$test_tmp/data"
agent_start_server 8 "$test_tmp/agent.log" "$data_dir" \
    -config-file="$test_tmp/snap.json"
if ! wait_for_log "raft: leader" 15; then
	not_ok "agent starts and leads"; cat "$agent_log"; tap_done; exit 1
fi
ok "agent starts and leads"
check "the snapshot keys load without a not-implemented warning" \
    sh -c "! grep -q 'raft_snapshot.*not implemented' '$agent_log'"
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"
api="http://127.0.0.1:$http_port/v1"

for i in $(seq 1 120); do
	curl -s -X PUT --data-binary "v$i" "$api/kv/snap/$i" >/dev/null
done
if wait_for_log "snapshot: took a snapshot" 10; then
	ok "a snapshot is taken after raft_snapshot_threshold entries"
else
	not_ok "a snapshot is taken after raft_snapshot_threshold entries"
fi
check "the snapshot is a file in data_dir/snapshots" \
    sh -c "ls '$data_dir'/snapshots/*.snap >/dev/null 2>&1"
first=$(sed -n 's/.*took a snapshot at index [0-9]*; log now \([0-9]*\)\.\..*/\1/p' \
    "$agent_log" | tail -1)
check "the log is compacted behind it" [ "${first:-0}" -gt 1 ]

out=$("$CONSULCTL" snapshot save "$test_tmp/s.snap")
check "snapshot save says where it saved" \
    sh -c "echo '$out' | grep -q '^Saved and verified snapshot to index [0-9]*$'"
out=$("$CONSULCTL" snapshot inspect "$test_tmp/s.snap")
check "snapshot inspect counts 120 keys" \
    sh -c "echo '$out' | grep -q '^ KVS  *120 '"

curl -s -X DELETE "$api/kv/snap/1" >/dev/null
curl -s -X PUT --data-binary later "$api/kv/later" >/dev/null
out=$("$CONSULCTL" snapshot restore "$test_tmp/s.snap")
check "snapshot restore says Restored snapshot" [ "$out" = "Restored snapshot" ]
check "a key deleted after the save is back" \
    [ "$(curl -s "$api/kv/snap/1?raw")" = v1 ]
check "a key written after the save is gone" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/kv/later")" = 404 ]

cp "$test_tmp/s.snap" "$test_tmp/bad.snap"
printf 'X' | dd of="$test_tmp/bad.snap" bs=1 seek=40 conv=notrunc 2>/dev/null
curl -s -X PUT --data-binary damaged "$api/kv/marker" >/dev/null
out=$("$CONSULCTL" snapshot restore "$test_tmp/bad.snap" 2>&1); rc=$?
check "a damaged snapshot is refused, exit 1" [ "$rc" -eq 1 ]
check "the refusal names the checksum" \
    sh -c "echo '$out' | grep -q 'checksum mismatch'"
check "and nothing was restored" [ "$(curl -s "$api/kv/marker?raw")" = damaged ]
"$CONSULCTL" snapshot inspect "$test_tmp/bad.snap" >/dev/null 2>&1
check "snapshot inspect refuses it too" [ $? -eq 1 ]

kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
agent_start_server 8 "$test_tmp/agent2.log" "$data_dir" \
    -config-file="$test_tmp/snap.json"
if wait_for_log "raft: leader" 15; then
	ok "restarts on a compacted log"
else
	not_ok "restarts on a compacted log"; cat "$agent_log"
fi
check "every key is there after the restart" \
    [ "$(curl -s "$api/kv/snap/?keys" | jq length)" = 120 ]
check "writes go on after the restart" \
    [ "$(curl -s -X PUT --data-binary x "$api/kv/after")" = true ]
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "SIGTERM exits 0" [ $? -eq 0 ]
tap_done
