#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs everything parallax needs to build, run and test on Debian 12.
# Idempotent: packages already present are left alone, and apt is only asked
# when something is missing. Both README commands call this first.
set -euo pipefail

PKGS=(
	build-essential pkg-config meson ninja-build clang llvm
	libbpf-dev bpftool linux-libc-dev
	libuv1-dev libprotobuf-c-dev protobuf-c-compiler
	libgrpc-dev libarchive-dev libpq-dev libssl-dev libyaml-dev
	check postgresql postgresql-client openjdk-17-jdk-headless
	libhyperscan-dev libext2fs-dev e2fsprogs libsqlite3-dev libyara-dev
	libjson-c-dev libh2o-dev
	zip unzip procps iproute2 python3 openssl
	clamav bc
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get needs it); try: sudo $0" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
	echo "install-deps: all packages present"
fi

# The cluster Debian creates on install would hold port 5432; parallax runs
# its own private clusters, so the packaged one is not needed.  Stopping it is
# harmless when it is not running.
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
		pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
	done
fi

# eBPF needs bpffs and tracefs; mount them when the host has not.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
mountpoint -q /sys/kernel/tracing ||
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
exit 0
