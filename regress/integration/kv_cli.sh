#!/bin/sh
# consulctl kv get, put, delete, export and import against a real -dev
# agent: Consul's exact messages and exit codes, DATA from a file, stdin
# or the argument, binary values, 64-bit flags, check-and-set, locks,
# -detailed rows, -recurse and -keys listings, export and import back,
# the HTTP flags and environment, and no leaks under valgrind.
. "$(dirname "$0")/../lib/agent.sh"

agent_start 5 "$test_tmp/agent.log"
if ! wait_for_log "agent: running"; then
	not_ok "dev agent starts"; cat "$agent_log"; tap_done; exit 1
fi
ok "dev agent starts"
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"
unset CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE
api="http://127.0.0.1:$http_port/v1"

# The first write waits for the agent to elect itself.
i=0
until "$CONSULCTL" kv put probe x >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		not_ok "kv put succeeds once the agent leads"
		"$CONSULCTL" kv put probe x
		tap_done; exit 1
	fi
	sleep 0.1
done
ok "kv put succeeds once the agent leads"

# kv ARGS...: sets rc, out and err (files $test_tmp/out, $test_tmp/err).
kv() {
	"$CONSULCTL" kv "$@" >"$test_tmp/out" 2>"$test_tmp/err"
	rc=$?
	out=$(cat "$test_tmp/out")
	err=$(cat "$test_tmp/err")
}
# is DESC EXPECTED-RC EXPECTED-OUT EXPECTED-ERR: the last kv run.
is() {
	if [ "$rc" = "$2" ] && [ "$out" = "$3" ] && [ "$err" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "rc $rc (want $2)"
		diag "out: $out"
		diag "err: $err"
	fi
}
# field NAME: the value of a -detailed row in the last output.
field() { sed -n "s/^$1  *//p" "$test_tmp/out"; }

# put and get
kv put web/config 'port=80'
is "put prints Success" 0 "Success! Data written to: web/config" ""
kv get web/config
is "get prints the raw value" 0 "port=80" ""
check "get ends the value with one newline" \
    [ "$(od -An -c "$test_tmp/out" | tr -d ' ')" = 'port=80\n' ]
kv get /web/config
is "get drops a leading /" 0 "port=80" ""
kv get nope
is "get of a missing key" 1 "" "Error! No key exists at: nope"
kv get
is "get without a key" 1 "" "Error! Missing KEY argument"
kv get a b
is "get with two keys" 1 "" "Too many arguments (expected 1, got 2)"
kv put
is "put without a key" 1 "" "Error! Missing KEY argument"
kv put a b c
is "put with three arguments" 1 "" \
    "Error! Too many arguments (expected 1 or 2, got 3)"
kv put empty
kv get empty
is "put without DATA stores an empty value" 0 "" ""
kv put dash -x
kv get dash
is "DATA -x is text, not a flag" 0 "-x" ""
printf 'from\nstdin' | "$CONSULCTL" kv put stdin - >/dev/null
kv get stdin
is "DATA - reads stdin" 0 "from
stdin" ""
printf 'a\000b\377\n\n' >"$test_tmp/bin"
kv put bin "@$test_tmp/bin"
is "DATA @file" 0 "Success! Data written to: bin" ""
"$CONSULCTL" kv get bin | head -c 6 >"$test_tmp/bin.got"
check "binary value round trip" cmp -s "$test_tmp/bin" "$test_tmp/bin.got"
kv put bin @/nonexistent
is "DATA @file that does not exist" 1 "" \
    "Error! Failed to read file: open /nonexistent: no such file or directory"
kv put -base64 b64 aGVsbG8gd29ybGQ=
kv get b64
is "put -base64 decodes" 0 "hello world" ""
kv get -base64 b64
is "get -base64 encodes" 0 "aGVsbG8gd29ybGQ=" ""
kv put -base64 b64 'not base64'
is "put -base64 with bad data" 1 "" \
    "Error! Cannot base 64 decode data: illegal base64 data at input byte 3"
kv put -flags=bogus k v
is "a bad -flags" 1 "" 'invalid value "bogus" for flag -flags: parse error'
kv put -nope k v
is "an unknown flag" 1 "" "flag provided but not defined: -nope"
kv put /lead x
check "put keeps a leading / and shows the agent's 400" \
    [ "$rc" = 1 -a -z "$out" ]
case $err in
"Error! Failed writing data: Unexpected response code: 400 ("*")") ok \
    "the 400 is printed as Consul prints it" ;;
*) not_ok "the 400 is printed as Consul prints it"; diag "$err" ;;
esac

# -detailed and flags
kv put -flags=42 flagged v
kv get -detailed flagged
check "get -detailed exits 0" [ "$rc" = 0 ]
check "-detailed has the seven rows in order" [ "$(cut -c1-17 \
    "$test_tmp/out" | tr -d ' ' | tr '\n' ,)" = \
    "CreateIndex,Flags,Key,LockIndex,ModifyIndex,Session,Value," ]
check "-detailed pads names to 17 columns" \
    grep -q '^Key              flagged$' "$test_tmp/out"
check "-detailed Flags, Session and Value" \
    [ "$(field Flags) $(field Session) $(field Value)" = "42 - v" ]
mi=$(field ModifyIndex)
check "-detailed ModifyIndex is the key's" [ "$mi" = "$(curl -s \
    "$api/kv/flagged" | jq -r '.[0].ModifyIndex')" ]
kv put -flags=0xe0f69a2baa414de0 sema v
kv get -detailed sema
if [ "$(field Flags)" = 16210313421097356768 ]; then
	ok "flags above 2^63 survive (lock semaphore flags)"
else
	not_ok "flags above 2^63 survive (lock semaphore flags)"
	diag "$err"
	diag "agent sent: $(curl -s "$api/kv/sema" | tr -d ' \n')"
fi
kv put tabbed 'a:
	b: 1'
kv get -detailed tabbed
check "-detailed lays out a tab in the value as Go's tabwriter" \
    [ "$(tail -1 "$test_tmp/out")" = "                 b: 1" ]

# check-and-set
kv put -cas flagged w
is "put -cas without -modify-index" 1 "" \
    "Must specify -modify-index with -cas!"
kv put -cas -modify-index=$((mi + 1000)) flagged w
is "put -cas with a stale index" 1 "" \
    "Error! Did not write to flagged: CAS failed"
kv put -cas -modify-index=$mi flagged w
is "put -cas with the current index" 0 "Success! Data written to: flagged" ""
kv get flagged
check "the CAS write landed" [ "$out" = w ]

# -recurse and -keys
for k in app/a app/b/c app/b/d app/e apple; do
	"$CONSULCTL" kv put "$k" "v-$k" >/dev/null
done
kv get -recurse app/
is "get -recurse prints key:value, sorted" 0 "app/a:v-app/a
app/b/c:v-app/b/c
app/b/d:v-app/b/d
app/e:v-app/e" ""
kv get -recurse nothing/here
is "get -recurse of an empty prefix prints nothing" 0 "" ""
kv get -keys app/
is "get -keys collapses at /" 0 "app/a
app/b/
app/e" ""
kv get -keys -separator= app/
is "get -keys -separator= lists every key" 0 "app/a
app/b/c
app/b/d
app/e" ""
kv get -keys app
is "get -keys without a trailing /" 0 "app/
apple" ""
kv get -recurse -detailed app/b/
check "-recurse -detailed separates blocks by one empty line" \
    [ "$rc" = 0 -a "$(grep -c '^$' "$test_tmp/out")" = 1 -a \
    "$(grep -c '^Key ' "$test_tmp/out")" = 2 ]
kv get -recurse -base64 app/a
is "get -recurse -base64" 0 "app/a:di1hcHAvYQ==" ""

# keys that need escaping in the URL
for k in 'sp ace' 'pct%41' 'q?x=1&y' 'h#frag' 'ü/ñ' 'plus+sign'; do
	kv put "esc/$k" "$k"
	kv get "esc/$k"
	check "key '$k' round trips" [ "$rc" = 0 -a "$out" = "$k" ]
done

# delete
kv delete app/a
is "delete" 0 "Success! Deleted key: app/a" ""
kv delete app/a
is "delete of a missing key still succeeds" 0 "Success! Deleted key: app/a" ""
kv delete
is "delete without a key" 1 "" "Error! Missing KEY argument"
kv delete -cas app/e
is "delete -cas without an index" 1 "" "Cannot delete a key that does \
not exist. Provide a -modify-index greater than than 0."
kv delete -modify-index=3 app/e
is "delete -modify-index without -cas" 1 "" \
    "Cannot specify -modify-index without -cas!"
kv delete -cas -modify-index=3 -recurse app/
is "delete -cas -recurse" 1 "" "Cannot specify both -cas and -recurse!"
kv get -detailed app/e
emi=$(field ModifyIndex)
kv delete -cas -modify-index=$((emi + 1000)) app/e
is "delete -cas with a stale index" 1 "" \
    "Error! Did not delete key app/e: CAS failed"
kv delete -cas -modify-index=$emi app/e
is "delete -cas with the current index" 0 "Success! Deleted key: app/e" ""
kv delete -recurse app/
is "delete -recurse" 0 "Success! Deleted keys with prefix: app/" ""
kv get -recurse app/
check "delete -recurse emptied the prefix" [ "$rc" = 0 -a -z "$out" ]
kv get apple
check "delete -recurse app/ kept apple" [ "$out" = v-apple ]

# export and import
"$CONSULCTL" kv put -flags=7 'tree/<x>&' 'x-value' >/dev/null
"$CONSULCTL" kv put tree/dir/ >/dev/null
"$CONSULCTL" kv put tree/bin "@$test_tmp/bin" >/dev/null
kv export tree/
check "export exits 0" [ "$rc" = 0 ]
cp "$test_tmp/out" "$test_tmp/tree.json"
check "export is a JSON array of key and flags, sorted" [ "$(jq -c \
    '[.[] | [.key, .flags]]' "$test_tmp/tree.json" 2>/dev/null)" = \
    '[["tree/<x>&",7],["tree/bin",0],["tree/dir/",0]]' ]
check "export values are base64" [ "$(jq -r '.[0].value | @base64d' \
    "$test_tmp/tree.json" 2>/dev/null)" = x-value ]
printf '[\n\t{\n\t\t"key": "tree/\\u003cx\\u003e\\u0026",\n' \
    >"$test_tmp/head.want"
check "export indents with tabs and escapes <>& as Go's MarshalIndent" \
    sh -c "head -3 '$test_tmp/tree.json' | cmp -s - '$test_tmp/head.want'"
kv export nothing/here
is "export of an empty prefix" 0 "[]" ""
"$CONSULCTL" kv delete -recurse tree/ >/dev/null
kv import "@$test_tmp/tree.json"
is "import prints each key" 0 "Imported: tree/<x>&
Imported: tree/bin
Imported: tree/dir/" ""
"$CONSULCTL" kv export tree/ >"$test_tmp/tree2.json"
check "export after import is identical" \
    cmp -s "$test_tmp/tree.json" "$test_tmp/tree2.json"
"$CONSULCTL" kv import -prefix=copy - <"$test_tmp/tree.json" >/dev/null
kv get -keys -separator= copy/
is "import -prefix from stdin, trailing / kept" 0 "copy/tree/<x>&
copy/tree/bin
copy/tree/dir/" ""
kv import
is "import without DATA" 1 "" "Error! Missing DATA argument"
kv import '{"key":"a"}'
is "import of an object" 1 "" "Cannot unmarshal data: json: cannot \
unmarshal object into Go value of type []*impexp.Entry"
kv import '[{"key":"imp/a","flags":1,"value":"YQ=="},
    {"key":"imp/b","value":"!"}]'
is "import stops at a bad value" 1 "Imported: imp/a" "Error base 64 \
decoding value for key imp/b: illegal base64 data at input byte 0"

# locks, with a session of the agent: a session needs the agent's node
# in the catalog, which the leader registers shortly after it is elected
# (later under the sanitizers).
wait_node_at "$api" node5 30
sid=$(curl -sf -X PUT "$api/session/create" | jq -r .ID)
check "a session for the lock tests" [ -n "$sid" -a "$sid" != null ]
kv put -acquire lock v
is "acquire without -session" 1 "" \
    "Error! Missing -session (required with -acquire and -release)"
kv put -acquire -session="$sid" lock held
is "acquire" 0 "Success! Lock acquired on: lock" ""
kv get -detailed lock
check "-detailed shows the holder" \
    [ "$(field Session) $(field LockIndex)" = "$sid 1" ]
kv put -release -session=00000000-0000-0000-0000-000000000000 lock
check "release by another session fails" [ "$rc" = 1 ]
kv put -release -session="$sid" lock
is "release" 0 "Success! Lock released on: lock" ""
kv put -acquire -session=0d2f3b6a-0000-0000-0000-000000000000 lock
case $err in
"Error! Failed writing data: Unexpected response code: 500 "\
"(invalid session"*)
	ok "acquire with an unknown session shows the agent's 500" ;;
*) not_ok "acquire with an unknown session shows the agent's 500"
	diag "$err" ;;
esac

# HTTP flags and environment
kv get -http-addr="http://127.0.0.1:$http_port" -datacenter=dc1 -stale \
    -token=anything web/config
is "-http-addr http://, -datacenter, -stale, -token" 0 "port=80" ""
CONSUL_HTTP_ADDR="http://127.0.0.1:$http_port" kv get web/config
is "CONSUL_HTTP_ADDR with http://" 0 "port=80" ""
kv get -datacenter=nowhere web/config
check "an unknown -datacenter fails with the agent's answer" \
    [ "$rc" = 1 -a -z "$out" ]
case $err in
"Error querying Consul agent: Unexpected response code: "*)
	ok "the unknown datacenter error reads as Consul's" ;;
*)	not_ok "the unknown datacenter error reads as Consul's"; diag "$err" ;;
esac
dead=$((http_port + 9))
kv get -http-addr="127.0.0.1:$dead" web/config
refused="dial tcp 127.0.0.1:$dead: connect: connection refused"
is "agent not reachable (get)" 1 "" "Error querying Consul agent: Get \
\"http://127.0.0.1:$dead/v1/kv/web/config\": $refused"
kv put -http-addr="127.0.0.1:$dead" web/config x
is "agent not reachable (put)" 1 "" "Error! Failed writing data: Put \
\"http://127.0.0.1:$dead/v1/kv/web/config\": $refused"
kv get -http-addr=ftp://x web/config
is "unknown scheme" 1 "" \
    "Error connecting to Consul agent: Unknown protocol scheme: ftp"
kv get -token-file=/nonexistent web/config
is "missing token file" 1 "" "Error connecting to Consul agent: Error \
loading token file: open /nonexistent: no such file or directory"

# the kv group itself
"$CONSULCTL" kv >/dev/null 2>"$test_tmp/err"
check "kv alone exits 1" [ $? = 1 ]
check "kv alone lists the subcommands" \
    grep -q '^    put       Sets or updates data in the KV store$' \
    "$test_tmp/err"
check "kv -h exits 0" sh -c "'$CONSULCTL' kv -h | grep -q '^Subcommands:'"
check "kv put -h exits 0" sh -c "'$CONSULCTL' kv put -h >/dev/null"

# No leaks, no invalid accesses.
if [ "$CONSULD_BUILD_LABEL" = normal ] && command -v valgrind >/dev/null; then
	for args in "get -detailed -recurse esc/" "get nope" \
	    "put -flags=3 vg x" "delete -recurse copy/" "export tree/" \
	    "import @$test_tmp/tree.json" "get -keys" \
	    "get -http-addr=127.0.0.1:$dead x"; do
		# shellcheck disable=SC2086
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		    --error-exitcode=99 "$CONSULCTL" kv $args \
		    >/dev/null 2>"$test_tmp/vg"
		check "valgrind: kv $args" [ $? -ne 99 ]
	done
else
	skip "valgrind runs (not the normal build, or no valgrind)"
fi

tap_done
