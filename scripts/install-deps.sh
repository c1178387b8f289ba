#!/usr/bin/env bash
# Installs what Hawser needs on Debian 12, and nothing that is already there.
#   scripts/install-deps.sh --demo [--ha]   what ./demo.sh needs: docker.io (dockerd per node), ufw with iptables,
#                                           iproute2 and util-linux (namespaces), busybox-static (the containers'
#                                           image), openssl, python3, pebble (the ACME CA) and nginx (each node's
#                                           TLS server); with --ha also postgresql
#   scripts/install-deps.sh                 everything the tests need besides: the gRPC peers for interop tests
#                                           (python3-grpcio, protoc and the well-known protos, node and npm when
#                                           missing, grpc-js from tests/interop), ndppd, systemd-analyze and openrc
#                                           for the service definitions, lintian, dnsmasq-base (a DNS server that
#                                           truncates), chromium (browser tests), prometheus and promtool,
#                                           prometheus-node-exporter, haproxy and hitch, bind9 (DNS-01 zones),
#                                           postgresql, and for the NativeAOT release clang, lld, the aarch64 cross
#                                           binutils, libc and libgcc, qemu-user-static and the arm64 libssl3 (this
#                                           adds dpkg's arm64 architecture), and qemu's aarch64 handler registered
#                                           with binfmt_misc where systemd-binfmt has not (until the next reboot).
# Services are test tools here: a package installed by this script is not left enabled at boot (docker, containerd,
# ufw, named, postgresql, prometheus, nginx, haproxy, hitch, node_exporter); the TLS servers and node_exporter are not
# started either. What was already installed is left as it was.
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

demo=; ha=
for argument in "$@"; do
  case "$argument" in
    --demo) demo=1 ;;
    --ha) ha=1 ;;
    *) echo "usage: scripts/install-deps.sh [--demo [--ha]]" >&2; exit 2 ;;
  esac
done

packages=(python3 docker.io ufw iptables iproute2 util-linux busybox-static tar openssl pebble)
# TLS servers whose served certificate the demo and tests read, and node_exporter whose textfile collector reads the
# agent's metrics; installed without starting them (their packages would start nginx on port 80, HAProxy, hitch and
# node_exporter on port 9100 as system services), since the demo and each test start their own.
tls_servers=(nginx)
[ -n "$ha" ] && packages+=(postgresql)
if [ -z "$demo" ]; then
  packages+=(python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev dnsmasq-base
    clang lld binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross qemu-user-static libssl3:arm64
    ndppd systemd openrc lintian chromium prometheus bind9 bind9-utils bind9-dnsutils postgresql)
  tls_servers+=(haproxy hitch prometheus-node-exporter)
  # Node may come from elsewhere (e.g. NodeSource, which bundles npm); only ask Debian for what is missing.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

# The arm64 release agent runs under qemu-user-static (`-L /`) with Debian's arm64 libc and libssl3 (multiarch).
if [ -z "$demo" ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
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
  # Installed here as tools, not as the machine's services: not started at the next boot (running ones keep running).
  units=()
  for package in "${missing[@]}"; do
    case "$package" in
      docker.io) units+=(docker.service docker.socket containerd.service) ;;
      ufw) units+=(ufw.service) ;;
      bind9) units+=(named.service) ;;
      postgresql) units+=(postgresql.service) ;;
      prometheus) units+=(prometheus.service) ;;
    esac
  done
  if [ "${#units[@]}" -gt 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    log "systemctl disable ${units[*]} (installed as tools: not started at boot)"
    as_root systemctl disable --quiet "${units[@]}" 2>/dev/null || true
  fi
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

[ -n "$demo" ] && exit 0

# The arm64 agent's upgrade test starts arm64 binaries as an arm64 host would, through the kernel's binfmt_misc and
# qemu-user-static's handler. Debian registers it at boot where systemd runs (systemd-binfmt); where it does not, it is
# registered here (until the next reboot).
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  log "binfmt_misc: registering qemu-user-static's aarch64 handler (/usr/lib/binfmt.d/qemu-aarch64.conf)"
  [ -e /proc/sys/fs/binfmt_misc/register ] || as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | as_root tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi
if [ ! -d tests/interop/node_modules/@grpc/grpc-js ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
  log "npm ci (tests/interop)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
