#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# mkcerts.sh: a development certificate authority and the certificates for
# mutual TLS between parallax sources and the collector.  Not for production:
# keys are unencrypted and the CA lives next to them.
#
#   deploy/mkcerts.sh OUTDIR [SERVER_NAME] [CLIENT ...]
#   CLIENT is CN[@HOST_ID[,HOST_ID...]]
#
# Writes OUTDIR/ca.{pem,key}, OUTDIR/server.{pem,key} (for SERVER_NAME,
# default "localhost", also valid for 127.0.0.1 and ::1) and one
# OUTDIR/<cn>.{pem,key} per client.  The collector takes the client's CN as
# the source identity (collector.tls_allowed_cns lists the ones it accepts)
# and accepts its batches only for the hosts the certificate is bound to:
# one SAN URI urn:parallax:host:<host_id> per HOST_ID.  Without @, the one
# host is named like the CN; HOST_ID "*" binds every host (for a scanner
# that reads many hosts' snapshots: quote it from the shell).
# An existing CA in OUTDIR is reused, so clients can be added later.
set -eu

usage() {
	echo "usage: $0 OUTDIR [SERVER_NAME] [CN[@HOST_ID[,HOST_ID...]] ...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
command -v openssl >/dev/null 2>&1 || {
	echo "mkcerts.sh: openssl not found (apt-get install openssl)" >&2
	exit 1
}
out=$1
server=${2:-localhost}
[ $# -ge 2 ] && shift 2 || shift 1
mkdir -p "$out"
umask 077
days=825

if [ ! -f "$out/ca.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
		-subj "/CN=parallax development CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
fi

# sign NAME EXTFILE: NAME.key and a CA-signed NAME.pem with EXTFILE's
# extensions.
sign() {
	openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$1" \
		-keyout "$out/$1.key" -out "$out/$1.csr" 2>/dev/null
	openssl x509 -req -in "$out/$1.csr" -CA "$out/ca.pem" \
		-CAkey "$out/ca.key" -CAcreateserial -days "$days" -sha256 \
		-extfile "$2" -out "$out/$1.pem" 2>/dev/null
	rm -f "$out/$1.csr"
}

ext=$(mktemp)
trap 'rm -f "$ext"' EXIT

cat >"$ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$server,DNS:localhost,IP:127.0.0.1,IP:::1
EXT
sign server "$ext"

names=
for client in "$@"; do
	cn=${client%%@*}
	case "$client" in
	*@*) hosts=${client#*@} ;;
	*) hosts=$cn ;;
	esac
	case "$cn" in
	*/*|.*|"") echo "mkcerts.sh: bad client name '$cn'" >&2; exit 2 ;;
	esac
	sans=
	old_ifs=$IFS
	IFS=,
	set -f	# split on commas only: "*" is a host id, not a glob
	for h in $hosts; do
		case "$h" in
		"*") ;;
		""|*[!A-Za-z0-9._:-]*)
			echo "mkcerts.sh: bad host id '$h' for '$cn'" >&2
			exit 2 ;;
		esac
		sans="${sans:+$sans,}URI:urn:parallax:host:$h"
	done
	set +f
	IFS=$old_ifs
	[ -n "$sans" ] || { echo "mkcerts.sh: no host id for '$cn'" >&2; exit 2; }
	cat >"$ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectAltName=$sans
EXT
	sign "$cn" "$ext"
	names="${names:+$names }$cn"
done
chmod 0644 "$out"/*.pem
echo "mkcerts.sh: certificates in $out: ca.pem server.pem/key${names:+ and $names}"
