#!/usr/bin/env bash
# `hawserctl status` as a whole process against a controller with three connected agents: median wall
# time over N runs (default 20) of the release hawserctl (NativeAOT) beside curl making the same mTLS
# call (three interleaved rounds) and beside the development build (`dotnet hawserctl.dll`), in one run;
# then one call of each under /usr/bin/time. Controller and agents are the release builds, on loopback,
# each agent with its own --root and --proc-sys in a temp directory (no root needed).
# Usage: tests/Benchmarks/ctl-status.sh [N]   (HAWSER_RELEASE=DIR: a build-release.sh output; default: build one)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/hawser-bench-status.XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
release=${HAWSER_RELEASE:-}
if [[ -z $release ]]; then
  packaging/build-release.sh 0.0.0-bench --out "$work/release" --arch x64 > "$work/build.log"
  release=$work/release
fi
bin=$release/linux-x64
dotnet build src/Ctl -c Release -nologo -v quiet > /dev/null
dev_ctl=src/Ctl/bin/Release/net10.0/hawserctl.dll

port=$((17000 + RANDOM % 1000))
"$bin/hawser-controller" init --data "$work/data" --address 127.0.0.1 > /dev/null
"$bin/hawser-controller" run --listen "127.0.0.1:$port" --data "$work/data" > "$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$work/controller.log" && break; sleep 0.1; done
hash=$(awk '/^ca-hash/{print $2}' "$work/controller.log")
printf 'controller: https://127.0.0.1:%s\nca: %s/data/pki/ca.crt\ncertificate: %s/data/pki/admin.crt\nkey: %s/data/pki/admin.key\n' \
  "$port" "$work" "$work" "$work" > "$work/ctl.yaml"
token=$("$bin/hawserctl" --config "$work/ctl.yaml" token create --uses 3 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for n in 1 2 3; do
  mkdir -p "$work/web$n/root" "$work/web$n/sys"
  "$bin/hawser-agent" run --controller "https://127.0.0.1:$port" --node "web$n" --root "$work/web$n/root" --proc-sys "$work/web$n/sys" \
    --join-token "$token" --ca-hash "$hash" > "$work/web$n.log" 2>&1 &
  pids+=($!)
done
for n in 1 2 3; do for _ in $(seq 100); do grep -q 'connected to' "$work/web$n.log" && break; sleep 0.1; done; done

median() {
  local samples=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
# curl making the same call: TLS 1.3 with the admin certificate, HTTP/2, ListNodes with an empty request (gRPC's
# five-byte frame header), the reply discarded. What hawserctl adds on top is its own start and the table.
printf '\0\0\0\0\0' > "$work/empty.grpc"
curl_call=(curl -sS --fail --http2 --cacert "$work/data/pki/ca.crt" --cert "$work/data/pki/admin.crt" --key "$work/data/pki/admin.key"
  -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$work/empty.grpc" -o /dev/null
  "https://127.0.0.1:$port/hawser.v1.ControlService/ListNodes")
"${curl_call[@]}"
"$bin/hawserctl" --config "$work/ctl.yaml" status
# Interleaved rounds, so that a busy moment of this machine falls on both.
aot=() curl=()
for _ in 1 2 3; do
  aot+=("$(median "$bin/hawserctl" --config "$work/ctl.yaml" status)")
  curl+=("$(median "${curl_call[@]}")")
done
dev=$(median dotnet "$dev_ctl" --config "$work/ctl.yaml" status)
echo "hawserctl status, 3 agents, median of $runs, three interleaved rounds: release (NativeAOT) ${aot[*]} ms; curl, the same mTLS ListNodes call, ${curl[*]} ms"
echo "development build (dotnet hawserctl.dll): ${dev} ms"
# CPU and peak memory of one call each, from the kernel's accounting.
for call in hawserctl curl; do
  if [[ $call == hawserctl ]]; then cmd=("$bin/hawserctl" --config "$work/ctl.yaml" status); else cmd=("${curl_call[@]}"); fi
  /usr/bin/time -f "$call: %e s wall, %U s user, %S s system, %M KiB max RSS" "${cmd[@]}" > /dev/null
done
