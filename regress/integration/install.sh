#!/bin/sh
# `make install` into a staging directory puts every file where the
# README and the man pages say, with the paths filled into the unit.
. "$(dirname "$0")/../lib/tap.sh"

if [ "${CONSULD_BUILD_LABEL:-normal}" != normal ]; then
	skip "install is checked once, with the normal build"; tap_done; exit 0
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d /tmp/consuld-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT INT TERM

if make -s -C "$top" install DESTDIR="$stage" PREFIX=/usr/local \
    >"$stage.log" 2>&1; then
	ok "make install DESTDIR=... succeeds"
else
	not_ok "make install DESTDIR=... succeeds"; cat "$stage.log"
fi
rm -f "$stage.log"
for f in /usr/local/sbin/consuld /usr/local/bin/consulctl \
    /usr/local/libexec/consuld/raftd /usr/local/libexec/consuld/gossipd \
    /usr/local/libexec/consuld/apid /usr/local/libexec/consuld/dnsd \
    /usr/local/libexec/consuld/checkd; do
	check "installs $f" [ -x "$stage$f" ]
done
for f in /usr/local/share/man/man8/consuld.8 \
    /usr/local/share/man/man8/consulctl.8 \
    /usr/local/share/man/man5/consuld.conf.5 \
    /lib/systemd/system/consuld.service \
    /usr/local/share/consuld/rc.d/consuld \
    /etc/consul.d/server.json.example; do
	check "installs $f" [ -f "$stage$f" ]
done
check "the unit starts the installed consuld" \
    grep -q '^ExecStart=/usr/local/sbin/consuld ' \
    "$stage/lib/systemd/system/consuld.service"
check "no @placeholder@ is left in the unit" \
    sh -c "! grep -q @ '$stage/lib/systemd/system/consuld.service'"
check "the data directory is mode 0700" \
    [ "$(stat -c %a "$stage/var/lib/consuld")" = 700 ]
check "installed man pages are mandoc -Tlint clean" \
    sh -c "[ -z \"\$(mandoc -Tlint -Wwarning $stage/usr/local/share/man/man*/*)\" ]"
tap_done
