#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, start a controller on its embedded
# defaults (loopback, data in .demo/), and show the fleet with hawserctl.
#   ./demo.sh          runs the demo and stops the controller again
#   ./demo.sh --keep   leaves the controller running (stop it with: kill $(cat .demo/controller.pid))
set -euo pipefail
cd "$(dirname "$0")"
keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/install-deps.sh
echo "==> dotnet build"
dotnet build Cluster.sln -c Release -nologo -v quiet -warnaserror | grep -vE '^\s*$' | tail -n 3

bin_controller=src/Controller/bin/Release/net10.0/hawser-controller.dll
bin_ctl=src/Ctl/bin/Release/net10.0/hawserctl.dll
listen=127.0.0.1:7443
mkdir -p .demo
if [ -f .demo/controller.pid ] && kill -0 "$(cat .demo/controller.pid)" 2>/dev/null; then
  echo "==> a demo controller is already running (pid $(cat .demo/controller.pid)); using it"
else
  echo "==> starting hawser-controller on $listen (data: .demo/data)"
  dotnet "$bin_controller" run --listen "$listen" --data .demo/data > .demo/controller.log 2>&1 &
  echo $! > .demo/controller.pid
  for _ in $(seq 1 100); do
    grep -q '^ready' .demo/controller.log 2>/dev/null && break
    if ! kill -0 "$(cat .demo/controller.pid)" 2>/dev/null; then
      echo "error: the controller did not start:" >&2; cat .demo/controller.log >&2; exit 1
    fi
    sleep 0.1
  done
  cat .demo/controller.log
fi

echo "==> hawserctl --controller http://$listen nodes"
dotnet "$bin_ctl" --controller "http://$listen" nodes
echo "==> hawserctl --controller http://$listen nodes -o json"
dotnet "$bin_ctl" --controller "http://$listen" nodes -o json

if $keep; then
  echo "==> the controller keeps running: dotnet $bin_ctl nodes; stop it with: kill \$(cat .demo/controller.pid)"
else
  pid=$(cat .demo/controller.pid)
  kill "$pid"
  # Say "stopped" only once it has: the controller finishes calls in flight before it exits.
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f .demo/controller.pid
  echo "==> controller stopped (./demo.sh --keep leaves it running)"
fi
