#!/usr/bin/env bash
# Installs what building and testing Hawser needs on Debian 12, and nothing that is already there.
# Debian packages: the gRPC peers for interop tests (python3-grpcio, protoc and the well-known protos), node and npm when
# missing, and the host components the agent tests drive for real: dockerd and its CLI (docker.io),
# ndppd, ufw with iptables, iproute2 for network namespaces, busybox-static for a container image,
# systemd (systemd-analyze) and openrc for the service definitions, lintian for the release .deb,
# pebble (with pebble-challtestsrv) as the ACME CA, dnsmasq-base as a DNS server that truncates, chromium for the web UI's browser tests,
# prometheus (with promtool) to scrape the controller's /metrics and check the alert rules, prometheus-node-exporter (installed, never started) to read the agent's textfile metrics, nginx, haproxy and hitch (installed, never started) as the TLS servers whose served certificate tests read, bind9 (named, tsig-keygen, dig) as the zones DNS-01 updates,
# postgresql as the store several controllers share (tests run their own clusters in temporary directories),
# clang, lld and the aarch64 cross binutils, libc and libgcc for the NativeAOT release (x64 and arm64), qemu-user-static and the arm64 libssl3 (multiarch) to run the arm64 build;
# npm packages: grpc-js and proto-loader from tests/interop/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH. Debian does not package it; install it first." >&2
  exit 1
fi

packages=(python3 python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev dnsmasq-base
  clang lld binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross qemu-user-static libssl3:arm64
  docker.io ndppd ufw iptables iproute2 util-linux busybox-static tar openssl systemd openrc lintian pebble chromium prometheus
  bind9 bind9-utils bind9-dnsutils postgresql)
# TLS servers whose served certificate the tests read, and node_exporter whose textfile collector reads the agent's
# metrics; installed without starting them (their packages would start nginx on port 80, HAProxy, hitch and
# node_exporter on port 9100 as system services), since each test starts its own.
tls_servers=(nginx haproxy hitch prometheus-node-exporter)
# Node may come from elsewhere (e.g. NodeSource, which bundles npm); only ask Debian for what is missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# The arm64 release agent runs under qemu-user-static (`-L /`) with Debian's arm64 libc and libssl3 (multiarch).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "dpkg --add-architecture arm64"
  as_root dpkg --add-architecture arm64
  HAWSER_APT_UPDATE=1
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
missing_servers=()
for package in "${tls_servers[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing_servers+=("$package")
done
if [ "${#missing[@]}" -gt 0 ] || [ "${#missing_servers[@]}" -gt 0 ] || [ "${HAWSER_APT_UPDATE:-}" = 1 ]; then
  log "apt-get update"
  as_root apt-get update -q
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "${#missing_servers[@]}" -gt 0 ]; then
  log "apt-get install ${missing_servers[*]} (not started: a policy-rc.d refuses service starts during the install)"
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_servers[@]}" || status=$?
  [ -n "$made_policy" ] && as_root rm -f /usr/sbin/policy-rc.d
  [ "${status:-0}" -eq 0 ] || exit "$status"
  # Not started at boot either: they are test tools here.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --quiet "${missing_servers[@]}" 2>/dev/null || true
  fi
fi

if [ ! -d tests/interop/node_modules/@grpc/grpc-js ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
  log "npm ci (tests/interop)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
