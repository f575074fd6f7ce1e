#!/bin/sh
# consulctl tls ca create and tls cert create, with no agent: run in an
# empty directory, then every file is read back with openssl(1): the
# CA's subject, extensions and name constraints, each certificate's
# names, key usages and chain, P-256 keys in 0600 files, distinct
# serials, the index counting up as Consul's does, refusing to
# overwrite, Consul's exact output and error messages, and no leaks
# under valgrind.
. "$(dirname "$0")/../lib/tap.sh"

CONSULCTL="$CONSULD_BUILD/consulctl/consulctl"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
test_tmp=$(mktemp -d /tmp/consuld-test.XXXXXX)
trap 'rm -rf "$test_tmp"' EXIT INT TERM
umask 022

if ! command -v openssl >/dev/null; then
	skip "consulctl tls (no openssl command; make deps installs it)"
	tap_done; exit 0
fi

# tls DIR ARGS...: consulctl tls ARGS in DIR; sets rc, out and err.
tls() {
	d=$1; shift
	(cd "$d" && "$CONSULCTL" tls "$@") >"$test_tmp/out" 2>"$test_tmp/err"
	rc=$?
	out=$(cat "$test_tmp/out")
	err=$(cat "$test_tmp/err")
}
# is DESC EXPECTED-RC EXPECTED-OUT EXPECTED-ERR: the last tls run.
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
# same DESC GOT WANT
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"; diag "got:  $2"; diag "want: $3"
	fi
}
# ext FILE NAMES: openssl's text of the named extensions, trailing
# blanks removed.
ext() {
	openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | sed 's/ *$//'
}
mode() { stat -c %a "$1"; }
# curve KEYFILE: the named curve of a private key.
curve() {
	openssl pkey -in "$1" -noout -text 2>/dev/null |
	    sed -n 's/^NIST CURVE: //p'
}
# key_matches CERT KEY: the key is the certificate's.
key_matches() {
	[ "$(openssl x509 -in "$1" -noout -pubkey)" = \
	    "$(openssl pkey -in "$2" -pubout)" ]
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
# hex2dec HEX: a hexadecimal number of any length in decimal.
hex2dec() {
	echo "$1" | awk '{
		n = 1; d[1] = 0
		for (i = 1; i <= length($0); i++) {
			c = index("0123456789ABCDEF", toupper(substr($0, i, 1))) - 1
			for (j = 1; j <= n; j++) {
				t = d[j] * 16 + c; d[j] = t % 10; c = int(t / 10)
			}
			while (c > 0) { d[++n] = c % 10; c = int(c / 10) }
		}
		s = ""; for (j = n; j >= 1; j--) s = s d[j]; print s
	}'
}
# valid_days CERT DAYS: valid a day short of DAYS from now, not a day
# past it.
valid_days() {
	openssl x509 -in "$1" -noout -checkend $((($2 - 1) * 86400)) \
	    >/dev/null && ! openssl x509 -in "$1" -noout \
	    -checkend $((($2 + 1) * 86400)) >/dev/null
}
# verify CA CERT [openssl verify options]: openssl accepts CERT.
verify() {
	v_ca=$1 v_cert=$2; shift 2
	openssl verify -CAfile "$v_ca" "$@" "$v_cert" >/dev/null 2>&1
}
fails() { ! "$@"; }

warning="==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys."
subject_o="C = US, ST = CA, L = San Francisco, street = 101 Second Street"
subject_o="$subject_o, postalCode = 94105, O = HashiCorp Inc."

# --- tls ca create
w="$test_tmp/ca"
mkdir "$w"
tls "$w" ca create
is "ca create prints two Saved lines" 0 "==> Saved consul-agent-ca.pem
==> Saved consul-agent-ca-key.pem" ""
ca="$w/consul-agent-ca.pem"
cakey="$w/consul-agent-ca-key.pem"
check "the CA key file is mode 0600" [ "$(mode "$cakey")" = 600 ]
check "the CA certificate is mode 0644 under umask 022" \
    [ "$(mode "$ca")" = 644 ]
check "the CA key is PEM \"EC PRIVATE KEY\"" \
    [ "$(head -n 1 "$cakey")" = "-----BEGIN EC PRIVATE KEY-----" ]
same "the CA key is ECDSA P-256" "$(curve "$cakey")" "P-256"
check "the CA key is the CA certificate's" key_matches "$ca" "$cakey"
sn=$(serial "$ca")
check "the CA serial is random and up to 128 bits" \
    [ ${#sn} -ge 16 -a ${#sn} -le 32 ]
same "the CA subject as Consul's, CN with the serial in decimal" \
    "$(openssl x509 -in "$ca" -noout -subject)" \
    "subject=$subject_o, CN = Consul Agent CA $(hex2dec "$sn")"
same "the CA is self-issued" \
    "$(openssl x509 -in "$ca" -noout -issuer | sed 's/^issuer=//')" \
    "$(openssl x509 -in "$ca" -noout -subject | sed 's/^subject=//')"
check "the CA verifies against itself" verify "$ca" "$ca"
same "the CA basic constraints: critical CA:TRUE" \
    "$(ext "$ca" basicConstraints)" "X509v3 Basic Constraints: critical
    CA:TRUE"
same "the CA key usage: critical, sign certificates and CRLs" \
    "$(ext "$ca" keyUsage)" "X509v3 Key Usage: critical
    Digital Signature, Certificate Sign, CRL Sign"
ski=$(ext "$ca" subjectKeyIdentifier | sed -n 2p | tr -d ' ')
aki=$(ext "$ca" authorityKeyIdentifier | sed -n 2p | tr -d ' ')
check "the CA has a SHA-256 subject key id" [ ${#ski} -eq 95 ]
same "the CA authority key id is its subject key id" "$aki" "$ski"
same "no name constraints unless asked" "$(ext "$ca" nameConstraints)" ""
check "the CA is valid for 1825 days" valid_days "$ca" 1825
same "the CA is signed with ecdsa-with-SHA256" \
    "$(openssl x509 -in "$ca" -noout -text |
    sed -n 's/^ *Signature Algorithm: //p' | sort -u)" "ecdsa-with-SHA256"

cp "$ca" "$test_tmp/ca.copy"
tls "$w" ca create
is "a second ca create refuses to overwrite" 1 "" \
    "consul-agent-ca.pem already exists."
check "the CA certificate is unchanged" cmp -s "$ca" "$test_tmp/ca.copy"
mv "$ca" "$test_tmp/ca.moved"
tls "$w" ca create
is "an existing CA key alone is not overwritten either" 1 "" \
    "consul-agent-ca-key.pem already exists."
check "no CA certificate was written" [ ! -e "$ca" ]
mv "$test_tmp/ca.moved" "$ca"

tls "$w" ca create -domain example -days 30 -name-constraint \
    -additional-name-constraint ui.example.org \
    -additional-name-constraint alt.test
is "ca create -domain names the files after the domain" 0 \
    "==> Saved example-agent-ca.pem
==> Saved example-agent-ca-key.pem" ""
exca="$w/example-agent-ca.pem"
same "-name-constraint: critical permitted DNS names, additional first" \
    "$(ext "$exca" nameConstraints)" "X509v3 Name Constraints: critical
    Permitted:
      DNS:ui.example.org
      DNS:alt.test
      DNS:example
      DNS:localhost"
check "ca create -days 30" valid_days "$exca" 30

tls "$w" ca create -domain named -common-name "Ops Root CA"
same "-common-name sets the CN" \
    "$(openssl x509 -in "$w/named-agent-ca.pem" -noout -subject)" \
    "subject=$subject_o, CN = Ops Root CA"
tls "$w" ca create -domain zero -days 0
check "ca create -days 0 is a year, as Consul's" \
    valid_days "$w/zero-agent-ca.pem" 365
tls "$w" ca create -domain neg -days -1
is "ca create -days -1" 1 "" "-days must not be negative"
tls "$w" ca create -domain neg -days x
is "ca create -days x" 1 "" 'invalid value "x" for flag -days: parse error'
tls "$w" ca create -domain neg -days 99999999
is "ca create -days past the year 9999" 1 "" \
    "-days 99999999 is too large: the certificate would end after the year 9999"
tls "$w" ca create -domain 'bad/dir'
is "ca create -domain with a slash" 1 "" \
    'domain cannot be "bad/dir". Please use a DNS name such as consul'
tls "$w" ca create -domain consul.
is "ca create -domain with a final dot" 1 "" \
    'domain cannot be "consul.". Please use a DNS name such as consul'
tls "$w" ca create -domain neg extra
is "ca create with an argument" 1 "" "Too many arguments (expected 0, got 1)"
check "failed ca creates wrote nothing" [ -z "$(ls "$w" | grep neg)" ]

# --- tls cert create
tls "$w" cert create -server
is "cert create -server: the warning, Using and Saved lines" 0 "$warning
==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
==> Saved dc1-server-consul-0.pem
==> Saved dc1-server-consul-0-key.pem" ""
c="$w/dc1-server-consul-0.pem"
k="$w/dc1-server-consul-0-key.pem"
check "the server key file is mode 0600" [ "$(mode "$k")" = 600 ]
check "the server certificate is mode 0644" [ "$(mode "$c")" = 644 ]
same "the server key is ECDSA P-256" "$(curve "$k")" "P-256"
check "the server key is the certificate's" key_matches "$c" "$k"
check "openssl verify accepts the server certificate" verify "$ca" "$c"
check "... for TLS servers" verify "$ca" "$c" -purpose sslserver
check "... and TLS clients" verify "$ca" "$c" -purpose sslclient
check "... for server.dc1.consul" verify "$ca" "$c" \
    -verify_hostname server.dc1.consul
check "... not for client.dc1.consul" fails verify "$ca" "$c" \
    -verify_hostname client.dc1.consul
same "the server subject" "$(openssl x509 -in "$c" -noout -subject)" \
    "subject=CN = server.dc1.consul"
same "the server issuer is the CA" \
    "$(openssl x509 -in "$c" -noout -issuer | sed 's/^issuer=//')" \
    "$(openssl x509 -in "$ca" -noout -subject | sed 's/^subject=//')"
same "the server names" "$(ext "$c" subjectAltName)" \
    "X509v3 Subject Alternative Name:
    DNS:server.dc1.consul, DNS:localhost, IP Address:127.0.0.1"
same "the server key usage" "$(ext "$c" keyUsage)" \
    "X509v3 Key Usage: critical
    Digital Signature, Key Encipherment"
same "the server extended key usage" "$(ext "$c" extendedKeyUsage)" \
    "X509v3 Extended Key Usage:
    TLS Web Server Authentication, TLS Web Client Authentication"
same "the server basic constraints" "$(ext "$c" basicConstraints)" \
    "X509v3 Basic Constraints: critical
    CA:FALSE"
same "the server authority key id is the CA's key id" \
    "$(ext "$c" authorityKeyIdentifier | sed -n 2p | tr -d ' ')" "$ski"
check "the server certificate is valid for 365 days" valid_days "$c" 365

tls "$w" cert create -server
same "the next server certificate is index 1" "$(echo "$out" | tail -n 2)" \
    "==> Saved dc1-server-consul-1.pem
==> Saved dc1-server-consul-1-key.pem"
rm "$w/dc1-server-consul-0.pem"
tls "$w" cert create -server
same "an index whose key is left is not reused" \
    "$(echo "$out" | tail -n 1)" "==> Saved dc1-server-consul-2-key.pem"
rm "$w/dc1-server-consul-0-key.pem"
tls "$w" cert create -server
same "a free index 0 is used again" "$(echo "$out" | tail -n 1)" \
    "==> Saved dc1-server-consul-0-key.pem"

tls "$w" cert create -client
is "cert create -client: no warning" 0 \
    "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
==> Saved dc1-client-consul-0.pem
==> Saved dc1-client-consul-0-key.pem" ""
c="$w/dc1-client-consul-0.pem"
check "openssl verify accepts the client certificate" verify "$ca" "$c"
check "the client key is 0600" [ "$(mode "$w/dc1-client-consul-0-key.pem")" \
    = 600 ]
same "the client subject" "$(openssl x509 -in "$c" -noout -subject)" \
    "subject=CN = client.dc1.consul"
same "the client names" "$(ext "$c" subjectAltName)" \
    "X509v3 Subject Alternative Name:
    DNS:client.dc1.consul, DNS:localhost, IP Address:127.0.0.1"
same "the client extended key usage, client first as Consul's" \
    "$(ext "$c" extendedKeyUsage)" "X509v3 Extended Key Usage:
    TLS Web Client Authentication, TLS Web Server Authentication"

tls "$w" cert create -cli -additional-dnsname dropped.example \
    -additional-ipaddress 10.9.8.7
is "cert create -cli" 0 \
    "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
==> Saved dc1-cli-consul-0.pem
==> Saved dc1-cli-consul-0-key.pem" ""
c="$w/dc1-cli-consul-0.pem"
check "openssl verify accepts the cli certificate" verify "$ca" "$c"
same "the cli subject" "$(openssl x509 -in "$c" -noout -subject)" \
    "subject=CN = cli.dc1.consul"
same "the cli names: its own and localhost, additional addresses only" \
    "$(ext "$c" subjectAltName)" "X509v3 Subject Alternative Name:
    DNS:cli.dc1.consul, DNS:localhost, IP Address:10.9.8.7"
same "the cli certificate has no extended key usage, as Consul's" \
    "$(ext "$c" extendedKeyUsage)" ""
same "the cli key usage" "$(ext "$c" keyUsage)" \
    "X509v3 Key Usage: critical
    Digital Signature, Key Encipherment"

tls "$w" cert create -server -dc dc2 -node web-1 -days 30 \
    -additional-dnsname ' consul.example.com ' -additional-dnsname '' \
    -additional-ipaddress 10.1.2.3 -additional-ipaddress ::1
same "cert create -dc dc2 names the files after it" \
    "$(echo "$out" | tail -n 2)" "==> Saved dc2-server-consul-0.pem
==> Saved dc2-server-consul-0-key.pem"
c="$w/dc2-server-consul-0.pem"
same "-node and the additional names, in Consul's order" \
    "$(ext "$c" subjectAltName)" "X509v3 Subject Alternative Name:
    DNS:consul.example.com, DNS:web-1.server.dc2.consul, DNS:server.dc2.consul, DNS:localhost, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1"
check "... verifies for web-1.server.dc2.consul" verify "$ca" "$c" \
    -verify_hostname web-1.server.dc2.consul
check "... and for 10.1.2.3" verify "$ca" "$c" -verify_ip 10.1.2.3
check "cert create -days 30" valid_days "$c" 30

tls "$w" cert create -server -domain example
check "a certificate under the name-constrained CA" [ "$rc" = 0 ]
check "openssl verify accepts it, constraints and all" \
    verify "$exca" "$w/dc1-server-example-0.pem"
tls "$w" cert create -client -domain example \
    -additional-dnsname www.ui.example.org
check "an additional name inside the constraints" [ "$rc" = 0 ]
tls "$w" cert create -server -domain example -additional-dnsname other.test
is "a name outside the CA's constraints is refused" 1 "$warning
==> Using example-agent-ca.pem and example-agent-ca-key.pem" \
    'x509: a root or intermediate certificate is not authorized to sign for this name: DNS name "other.test" is not permitted by any constraint'
check "... and nothing is written" [ ! -e "$w/dc1-server-example-1.pem" \
    -a ! -e "$w/dc1-server-example-1-key.pem" ]

tls "$w" cert create -client -domain other -ca '#DOMAIN#-x.pem' \
    -key named-agent-ca-key.pem
is "-ca with #DOMAIN#, read as the domain" 1 "" \
    "Error reading CA: open other-x.pem: no such file or directory"
cp "$w/named-agent-ca.pem" "$w/other-x.pem"
tls "$w" cert create -client -domain other -ca '#DOMAIN#-x.pem' \
    -key named-agent-ca-key.pem
is "-ca and -key name the CA files" 0 \
    "==> Using other-x.pem and named-agent-ca-key.pem
==> Saved dc1-client-other-0.pem
==> Saved dc1-client-other-0-key.pem" ""
check "... and the certificate chains to that CA" \
    verify "$w/named-agent-ca.pem" "$w/dc1-client-other-0.pem"
check "... and not to another" fails verify "$ca" "$w/dc1-client-other-0.pem"

serials=$(for f in "$w"/*-agent-ca.pem "$w"/dc*.pem; do
	case $f in *-key.pem) ;; *) serial "$f" ;; esac
done)
n=$(echo "$serials" | wc -l)
check "the $n serial numbers are distinct" \
    [ "$n" -ge 12 -a -z "$(echo "$serials" | sort | uniq -d)" ]

# --- cert create errors
e="$test_tmp/empty"
mkdir "$e"
tls "$e" cert create
is "no -server, -client or -cli" 1 "" \
    "Please provide either -server, -client, or -cli"
tls "$e" cert create -server -cli
is "two of -server, -client, -cli" 1 "" \
    "Please provide either -server, -client, or -cli"
tls "$e" cert create -client -node web-1
is "-node without -server" 1 "" "-node requires -server"
tls "$e" cert create -server
is "no CA in the directory" 1 "" \
    "Error reading CA: open consul-agent-ca.pem: no such file or directory"
cp "$ca" "$e/"
tls "$e" cert create -server
is "no CA key in the directory" 1 "" \
    "Error reading CA key: open consul-agent-ca-key.pem: no such file or directory"
cp "$w/example-agent-ca-key.pem" "$e/consul-agent-ca-key.pem"
tls "$e" cert create -client
is "a CA key that is not the CA's" 1 \
    "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem" \
    "failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
cp "$cakey" "$e/consul-agent-ca-key.pem"
tls "$e" cert create -client -ca consul-agent-ca-key.pem
is "a CA file that holds a key" 1 \
    "==> Using consul-agent-ca-key.pem and consul-agent-ca-key.pem" \
    "failed to parse CA: first PEM-block should be CERTIFICATE type"
echo garbage >"$e/junk.pem"
tls "$e" cert create -client -ca junk.pem
is "a CA file with no PEM" 1 \
    "==> Using junk.pem and consul-agent-ca-key.pem" \
    "failed to parse CA: no PEM-encoded data found"
tls "$e" cert create -client -key consul-agent-ca.pem
is "a CA key file that holds a certificate" 1 \
    "==> Using consul-agent-ca.pem and consul-agent-ca.pem" \
    "unknown PEM block type for signing key: CERTIFICATE"
tls "$e" cert create -client -ca ''
is "-ca empty" 1 "" "Please provide the ca"
tls "$e" cert create -client -key ''
is "-key empty" 1 "" "Please provide the key"
tls "$e" cert create -client -days 0
is "-days 0" 1 "" "-days must be greater than 0"
tls "$e" cert create -client -days -3
is "-days -3" 1 "" "-days must be greater than 0"
tls "$e" cert create -client -days soon
is "-days soon" 1 "" 'invalid value "soon" for flag -days: parse error'
tls "$e" cert create -client -dc 'dc/1'
is "-dc with a slash" 1 "" \
    'datacenter cannot be "dc/1". Please use only [a-z0-9-_]'
tls "$e" cert create -client -dc DC1
is "-dc in upper case" 1 "" \
    'datacenter cannot be "DC1". Please use only [a-z0-9-_]'
tls "$e" cert create -client -domain '..'
is "-domain .." 1 "" \
    'domain cannot be "..". Please use a DNS name such as consul'
tls "$e" cert create -client -additional-ipaddress 10.0.0
is "a bad -additional-ipaddress" 1 "" \
    '"10.0.0" is not a valid IP address for -additional-ipaddress'
tls "$e" cert create -client -bogus
is "an unknown flag" 1 "" "flag provided but not defined: -bogus"
check "failed cert creates wrote no certificate" \
    [ -z "$(ls "$e" | grep -e '-client-\|-server-')" ]

tls "$e" cert create -h
check "cert create -h prints usage and exits 0" [ "$rc" = 0 -a \
    "$(echo "$out" | head -n 1)" = "Usage: consulctl tls cert create [options]" ]
tls "$e"
check "tls alone lists its subcommands, exit 1" [ "$rc" = 1 -a \
    -n "$(echo "$err" | grep 'cert create *Create a new certificate')" ]

# --- valgrind
if [ "${CONSULD_BUILD_LABEL:-normal}" = normal ] &&
    command -v valgrind >/dev/null; then
	v="$test_tmp/vg"
	mkdir "$v"
	for args in "ca create -name-constraint -additional-name-constraint a.b" \
	    "cert create -server -node n1 -additional-dnsname x.consul -additional-ipaddress ::1" \
	    "cert create -cli" "cert create -client -days 0" \
	    "cert create -server -additional-dnsname outside.test" \
	    "cert create -client -key ../ca/example-agent-ca-key.pem" \
	    "cert create -client -ca ../empty/junk.pem" \
	    "ca create"; do
		# shellcheck disable=SC2086
		(cd "$v" && valgrind -q --leak-check=full \
		    --errors-for-leak-kinds=definite --error-exitcode=99 \
		    "$CONSULCTL" tls $args >/dev/null 2>&1)
		check "valgrind: tls $args" [ $? -ne 99 ]
	done
else
	skip "valgrind runs (not the normal build, or no valgrind)"
fi

tap_done
