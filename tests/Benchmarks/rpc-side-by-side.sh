#!/usr/bin/env bash
# Side by side, in one run: Hawser's client and grpc-js's client against Hawser's server, and
# grpc-js against a grpc-js server for reference. Same loop in each: 1000 warm-up calls, then
# CALLS timed sequential unary calls, then one server stream of STREAM messages.
# Usage: tests/Benchmarks/rpc-side-by-side.sh [CALLS] [STREAM]
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${1:-20000}
stream=${2:-100000}
dotnet build tests/Benchmarks -c Release -nologo -v quiet >/dev/null
bench="dotnet tests/Benchmarks/bin/Release/net10.0/Hawser.Benchmarks.dll"

wait_port() { for _ in $(seq 1 100); do grep -q LISTENING "$1" 2>/dev/null && break; sleep 0.1; done; awk '/LISTENING/ {print $2}' "$1"; }
logs=$(mktemp -d)
$bench serve > "$logs/hawser" 2>&1 & hawser_pid=$!
(cd tests/interop && exec node server.js) > "$logs/node" 2>&1 & node_pid=$!
trap 'kill $hawser_pid $node_pid 2>/dev/null; rm -rf "$logs"' EXIT
hawser_port=$(wait_port "$logs/hawser")
node_port=$(wait_port "$logs/node")

echo "server=hawser  $($bench latency 127.0.0.1:$hawser_port "$calls" "$stream")"
echo "server=hawser  $(cd tests/interop && node bench.js 127.0.0.1:$hawser_port "$calls" "$stream")"
echo "server=grpc-js $(cd tests/interop && node bench.js 127.0.0.1:$node_port "$calls" "$stream")"
