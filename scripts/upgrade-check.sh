#!/usr/bin/env bash
# Upgrade in either order: a controller from one checkout with an agent from another, both ways; each pair
# enrolls, applies one sysctl (under a temp --proc-sys) and must report it in sync. Both checkouts must be
# built (Debug) first: dotnet build src/Agent, src/Controller and src/Ctl in each.
# Usage: scripts/upgrade-check.sh OLD_CHECKOUT   (e.g. git worktree add /tmp/old 752235f)
set -uo pipefail
[[ $# -eq 1 && -d $1/src ]] || { echo "usage: scripts/upgrade-check.sh OLD_CHECKOUT" >&2; exit 64; }
new=$(cd "$(dirname "$0")/.." && pwd)
old=$(cd "$1" && pwd)
case_run() {
  local ctrl=$1 agent=$2 label=$3
  local d; d=$(mktemp -d /tmp/hawser-upgrade.XXXXXX)
  local port=$((17000 + RANDOM % 1000))
  dotnet $ctrl/src/Controller/bin/Debug/net10.0/hawser-controller.dll init --data $d/data --address 127.0.0.1 > $d/init.log 2>&1
  dotnet $ctrl/src/Controller/bin/Debug/net10.0/hawser-controller.dll run --listen 127.0.0.1:$port --data $d/data > $d/controller.log 2>&1 &
  local cpid=$!
  for i in $(seq 50); do grep -q "^ready" $d/controller.log && break; sleep 0.2; done
  local hash; hash=$(awk '/^ca-hash/{print $2}' $d/controller.log)
  printf 'controller: https://127.0.0.1:%s\nca: %s/data/pki/ca.crt\ncertificate: %s/data/pki/admin.crt\nkey: %s/data/pki/admin.key\n' $port $d $d $d > $d/ctl.yaml
  local ctl="dotnet $ctrl/src/Ctl/bin/Debug/net10.0/hawserctl.dll --config $d/ctl.yaml"
  local token; token=$($ctl token create -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  mkdir -p $d/root $d/sys/net/ipv4; echo 7200 > $d/sys/net/ipv4/tcp_keepalive_time
  dotnet $agent/src/Agent/bin/Debug/net10.0/hawser-agent.dll run --controller https://127.0.0.1:$port --node web1 --root $d/root --proc-sys $d/sys \
    --join-token $token --ca-hash $hash --interval 00:00:02 > $d/agent.log 2>&1 &
  local apid=$!
  for i in $(seq 100); do grep -q "connected to" $d/agent.log && break; sleep 0.2; done
  printf 'apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: "600"}\n' > $d/spec.yaml
  $ctl apply -f $d/spec.yaml > $d/apply.log 2>&1
  local ok=no
  for i in $(seq 100); do
    if $ctl status -o json 2>/dev/null | python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"][0]; sys.exit(0 if n["appliedRevision"]==1 and n["connected"] else 1)'; then ok=yes; break; fi
    sleep 0.3
  done
  echo "$label: enrolled=$(grep -c 'enrolled as web1' $d/agent.log) connected=$(grep -c 'connected to' $d/agent.log) applied-in-sync=$ok live=$(cat $d/sys/net/ipv4/tcp_keepalive_time)"
  $ctl status | tail -3
  kill $apid $cpid; wait $apid $cpid 2>/dev/null
  rm -rf $d
}
case_run "$new" "$old" "new controller, old agent"
case_run "$old" "$new" "old controller, new agent"
