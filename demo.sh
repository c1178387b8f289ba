#!/usr/bin/env bash
# Quick start, step 1: a local demo cluster on this machine. Installs what is missing, builds,
# starts Debian's Pebble as the ACME CA (with challtestsrv resolving www.demo.hawser.test to the
# three nodes), hawser-controller and three agents (web1..web3), each agent in its own network
# namespace with its own root under .demo/, enrolls them with a join token, applies
# examples/opam-demo.yaml, and prints `hawserctl status` with all three in sync and
# `hawserctl certs` with the round-robin name's certificate installed and served (nginx per node) on all three. The IPv6 half:
# each node runs its own dockerd (data under .demo/, sockets in /run/hw-demo-webN/) and ufw (its
# /etc/ufw and /etc/default bound from the node's root in the agent's own mount namespace); the spec
# gives each node NDP proxying, Docker IPv6 with a user network and a firewall rule, and the demo ends
# by reaching each node's container over IPv6 from the hub (the provider's router), then starting a
# second container on web1 at an address the spec does not proxy, which the hub cannot reach (no
# proxy entry answers the router's neighbour solicitation for it).
#   ./demo.sh          bring the demo up (again: it first removes a previous one)
#   ./demo.sh --ha     the same with two controllers on one PostgreSQL (Debian's, a cluster of its own in
#                      /run/hw-demo-pg), agents given both; ends by stopping controller 1 and showing the
#                      fleet through controller 2, then starting controller 1 again
#   ./demo.sh down     remove every namespace, process and file the demo made
# Needs root (network namespaces); re-runs itself with sudo otherwise.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(pwd)
if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env=PATH "$0" "$@"; fi

demo=$repo/.demo
prefix=hw-demo
controller_ip=10.68.0.254
url=https://$controller_ip:7443
ctl_config=${XDG_CONFIG_HOME:-$HOME/.config}/hawser/hawserctl.yaml
bin=$repo/src
controller="$bin/Controller/bin/Release/net10.0/hawser-controller"
agent="$bin/Agent/bin/Release/net10.0/hawser-agent"
ctl="$bin/Ctl/bin/Release/net10.0/hawserctl"
log() { printf '==> %s\n' "$*"; }

pg_run=/run/$prefix-pg
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
store_url="postgres://hawser@/hawser?host=$pg_run&port=5432"

down() {
  if [ -f "$pg_run/data/postmaster.pid" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_run/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_run"
  # Containers live in namespaces of their own: remove them through their dockerd, then stop it.
  for i in 1 2 3; do
    run=/run/$prefix-web$i
    if [ -S "$run/docker.sock" ]; then
      docker -H "unix://$run/docker.sock" rm -f svc svc2 >/dev/null 2>&1 || true
    fi
    if [ -f "$run/dockerd.pid" ]; then
      pid=$(cat "$run/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$run"
  done
  if [ -d "$demo/pids" ]; then
    for pidfile in "$demo"/pids/*; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
  fi
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
    for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
  ip link del "$prefix-h" 2>/dev/null || true
  # The hawserctl config is removed only when it is the demo's own.
  if [ -f "$ctl_config" ] && grep -q "$demo/" "$ctl_config"; then rm -f "$ctl_config"; fi
  rm -rf "$demo"
}

if [ "${1:-}" = "down" ]; then
  down
  log "demo removed"
  exit 0
fi
ha=
[ "${1:-}" = "--ha" ] && { ha=1; shift; }
[ -n "${1:-}" ] && { echo "usage: ./demo.sh [--ha | down]" >&2; exit 2; }

scripts/install-deps.sh --demo ${ha:+--ha}
log "dotnet build -c Release"
dotnet build Cluster.sln -c Release -nologo -v quiet -warnaserror | grep -vE '^\s*$' | tail -n 3
down
mkdir -p "$demo/pids" "$demo/logs"

log "network: hub namespace with a bridge, a veth to this host ($controller_ip), one namespace per node"
ip netns add "$prefix-hub"
ip -n "$prefix-hub" link set lo up
ip -n "$prefix-hub" link add br0 type bridge
ip -n "$prefix-hub" link set br0 up
ip link add "$prefix-h" type veth peer name host netns "$prefix-hub"
ip addr add "$controller_ip/24" dev "$prefix-h"
ip link set "$prefix-h" up
ip -n "$prefix-hub" link set host master br0 up
# The provider's router: it holds fd68:6177::1 and treats the whole /64 as on-link, so it asks the
# link (neighbour solicitation) for every address in it, containers' included, and routes none.
ip -n "$prefix-hub" -6 addr add fd68:6177::1/64 dev br0 nodad
for i in 1 2 3; do
  ns=$prefix-web$i
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add eth0 netns "$ns" type veth peer name "web$i" netns "$prefix-hub"
  ip -n "$prefix-hub" link set "web$i" master br0 up
  ip -n "$ns" addr add "10.68.0.1$i/24" dev eth0
  ip -n "$ns" -6 addr add "fd68:6177::1$i/64" dev eth0 nodad
  ip -n "$ns" link set eth0 up
done

log "ACME CA: Debian's Pebble on $controller_ip:14000, challtestsrv's DNS on $controller_ip:8053"
mkdir -p "$demo/pebble"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=hawser demo Pebble TLS CA" \
  -keyout "$demo/pebble/tls-ca.key" -out "$demo/pebble/tls-ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pebble -keyout "$demo/pebble/key.pem" 2>/dev/null |
  openssl x509 -req -CA "$demo/pebble/tls-ca.pem" -CAkey "$demo/pebble/tls-ca.key" -days 7 \
    -extfile <(printf 'subjectAltName=IP:%s\n' "$controller_ip") -out "$demo/pebble/cert.pem" 2>/dev/null
cat > "$demo/pebble/config.json" <<EOC
{"pebble": {"listenAddress": "$controller_ip:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$demo/pebble/cert.pem", "privateKey": "$demo/pebble/key.pem",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOC
# No default answers: only the names the demo adds resolve (and no AAAA, which would point elsewhere).
pebble-challtestsrv -dns01 "$controller_ip:8053" -http01 "" -https01 "" -tlsalpn01 "" \
  -management 127.0.0.1:8055 -defaultIPv4 "" -defaultIPv6 "" > "$demo/logs/challtestsrv.log" 2>&1 &
echo $! > "$demo/pids/challtestsrv"
PEBBLE_VA_NOSLEEP=1 pebble -config "$demo/pebble/config.json" -dnsserver "$controller_ip:8053" > "$demo/logs/pebble.log" 2>&1 &
echo $! > "$demo/pids/pebble"
add_a='import json, sys, time, urllib.request
body = json.dumps({"host": "www.demo.hawser.test.", "addresses": ["10.68.0.11", "10.68.0.12", "10.68.0.13"]}).encode()
for _ in range(100):
    try:
        urllib.request.urlopen("http://127.0.0.1:8055/add-a", body, timeout=2); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)'
python3 -c "$add_a" || { echo "error: challtestsrv did not start:" >&2; cat "$demo/logs/challtestsrv.log" >&2; exit 1; }
for _ in $(seq 1 100); do grep -q 'Listening on' "$demo/logs/pebble.log" && break; sleep 0.1; done
grep -q 'Listening on' "$demo/logs/pebble.log" || { echo "error: pebble did not start:" >&2; cat "$demo/logs/pebble.log" >&2; exit 1; }
echo "    www.demo.hawser.test -> 10.68.0.11, 10.68.0.12, 10.68.0.13 (web1..web3)"

log "hawser-controller init (CA, serving certificate, admin credential)"
write_config=(--write-ctl-config "$ctl_config")
if [ -f "$ctl_config" ]; then
  echo "    $ctl_config exists and is not the demo's: writing $demo/hawserctl.yaml instead"
  ctl_config=$demo/hawserctl.yaml
  write_config=(--write-ctl-config "$ctl_config")
fi
mkdir -p "$(dirname "$ctl_config")"
store=()
controllers=(--controller "$url")
if [ -n "$ha" ]; then
  log "PostgreSQL: Debian's server, a cluster of its own in $pg_run (unix socket only)"
  [ -n "$pg_bin" ] || { echo "error: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  install -d -o postgres -g postgres -m 700 "$pg_run"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_run/data" -A trust -U hawser -E UTF8 --no-sync >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_run/data" -l "$pg_run/postgres.log" -w \
    -o "-k $pg_run -c listen_addresses= -p 5432" start >/dev/null
  runuser -u postgres -- "$pg_bin/createdb" -h "$pg_run" -p 5432 -U hawser hawser
  echo "    store $store_url"
  store=(--store "$store_url")
  controllers+=(--controller "https://$controller_ip:7444")
fi
"$controller" init --data "$demo/controller" "${store[@]}" --address "$controller_ip" --address 127.0.0.1 --url "$url" "${write_config[@]}" | sed 's/^/    /'
start_controller() { # N DATA PORT: start controller N and wait until it serves (a restart appends to the same log)
  local seen=0; if [ -f "$demo/logs/controller$1.log" ]; then seen=$(wc -l < "$demo/logs/controller$1.log"); fi
  "$controller" run --data "$2" "${store[@]}" --listen "$controller_ip:$3" \
    --acme-ca-file "$demo/pebble/tls-ca.pem" --acme-resolver "$controller_ip:8053" --certificate-retry 5s \
    --web-break-glass >> "$demo/logs/controller$1.log" 2>&1 &  # a sandbox: its web UI takes the admin token (break-glass)
  echo $! > "$demo/pids/controller$1"
  for _ in $(seq 1 100); do tail -n "+$((seen + 1))" "$demo/logs/controller$1.log" | grep -q '^ready' && break; sleep 0.1; done
  tail -n "+$((seen + 1))" "$demo/logs/controller$1.log" | grep -q '^ready' || { echo "error: controller $1 did not start:" >&2; cat "$demo/logs/controller$1.log" >&2; exit 1; }
}
start_controller 1 "$demo/controller" 7443
if [ -n "$ha" ]; then
  log "controller 2 on :7444, joined to the same store: it signs with controller 1's CA (a copy of pki/secrets.key unseals it)"
  "$controller" init --data "$demo/controller2" "${store[@]}" --secrets-key "$demo/controller/pki/secrets.key" --address "$controller_ip" | sed 's/^/    /'
  start_controller 2 "$demo/controller2" 7444
fi

export HAWSER_CONFIG=$ctl_config
log "hawserctl token create --uses 3"
token_json=$("$ctl" token create --uses 3 -o json)
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<< "$token_json")
ca_hash=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["caHash"])' <<< "$token_json")
echo "    token $token, ca-hash $ca_hash"

# The demo's operator by name, as a team would have it: its key made here, its certificate fetched with a one-use token;
# from here on hawserctl runs as that operator, so the event log says who applied what.
operator=$(printf '%s' "${SUDO_USER:-${USER:-demo}}" | tr -c 'A-Za-z0-9._@-' '-')
log "hawserctl operator add $operator --role admin, then operator enroll (the key is made on this machine)"
enroll_json=$("$ctl" operator add "$operator" --role admin -o json)
enroll_token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<< "$enroll_json")
"$ctl" --config "$demo/operator/hawserctl.yaml" --controller "$url" operator enroll --token "$enroll_token" --ca-hash "$ca_hash" | sed 's/^/    /'
cp "$demo/operator/hawserctl.yaml" "$ctl_config"
if [ -n "$ha" ]; then
  # hawserctl moves on to the next controller the config names when one cannot be reached.
  echo "controllers: [\"https://$controller_ip:7444\"]" >> "$ctl_config"
  echo "    $ctl_config names both controllers (controllers:), so hawserctl moves on when one is down"
fi
"$ctl" whoami | sed 's/^/    /'

log "per node: its own dockerd and ufw (enabled, in its namespace)"
image=$demo/image
mkdir -p "$image/rootfs/bin"
cp /bin/busybox "$image/rootfs/bin/busybox"
ln -sf busybox "$image/rootfs/bin/sh"
tar -C "$image/rootfs" -cf "$image/busybox.tar" .
for i in 1 2 3; do
  root=$demo/nodes/web$i
  run=/run/$prefix-web$i
  mkdir -p "$root/etc/docker" "$root/etc/hawser" "$root/var/lib/docker" "$run"
  echo '{}' > "$root/etc/docker/daemon.json"
  # What `systemctl restart docker` does, for the agent's services.docker.restart; dockerd gets a mount
  # namespace of its own, so its mounts go with it.
  cat > "$run/restart.sh" <<EOS
#!/bin/sh
if [ -f $run/dockerd.pid ] && kill -0 "\$(cat $run/dockerd.pid)" 2>/dev/null; then
  pid=\$(cat $run/dockerd.pid); kill "\$pid"
  i=0; while kill -0 "\$pid" 2>/dev/null && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i+1)); done
fi
setsid unshare -m --propagation private dockerd --data-root $root/var/lib/docker --exec-root $run/exec --pidfile $run/dockerd.pid \\
  -H unix://$run/docker.sock --config-file $root/etc/docker/daemon.json >> $demo/logs/dockerd-web$i.log 2>&1 < /dev/null &
EOS
  printf '#!/bin/sh\npid=$(cat %s/dockerd.pid) || exit 0\nkill "$pid"\nwhile kill -0 "$pid" 2>/dev/null; do sleep 0.1; done\n' "$run" > "$run/stop.sh"
  chmod 755 "$run/restart.sh" "$run/stop.sh"
  cat > "$root/etc/hawser/agent.yaml" <<EOY
initSystem: none
dockerSocket: $run/docker.sock
services:
  docker:
    restart: [$run/restart.sh]
    stop: [$run/stop.sh]
    isActive: [sh, -c, "kill -0 \$(cat $run/dockerd.pid)"]
    logs: [tail, -n, "5", $demo/logs/dockerd-web$i.log]
# The agent's own metrics, for node_exporter's textfile collector (README: The agent in node_exporter).
textfileCollector: /var/lib/prometheus/node-exporter
EOY
  nsenter --net="/run/netns/$prefix-web$i" "$run/restart.sh"
  # ufw as the node's own: Debian's rules, IPv6 on, forwarding dropped until the spec says otherwise.
  mkdir -p "$root/etc/default"
  cp -a /etc/ufw "$root/etc/ufw"
  sed 's/^DEFAULT_FORWARD_POLICY=.*/DEFAULT_FORWARD_POLICY="DROP"/; s/^IPV6=.*/IPV6=yes/' /etc/default/ufw > "$root/etc/default/ufw"
done
in_node() { # NODE COMMAND...: in the node's network namespace, with its /etc/ufw and /etc/default
  local root=$demo/nodes/$1; shift
  nsenter --net="/run/netns/$prefix-$(basename "$root")" unshare -m --propagation private sh -c \
    "mount --bind $root/etc/ufw /etc/ufw && mount --bind $root/etc/default /etc/default && exec \"\$@\"" sh "$@"
}
for i in 1 2 3; do
  run=/run/$prefix-web$i
  for _ in $(seq 1 300); do docker -H "unix://$run/docker.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  docker -H "unix://$run/docker.sock" import "$image/busybox.tar" hawser-demo/busybox:latest >/dev/null
  in_node "web$i" ufw --force enable >/dev/null
done
echo "    dockerd in hw-demo-web1..3 (sockets /run/hw-demo-webN/docker.sock), ufw enabled in each"

log "three agents, each in its namespace with its own --root (.demo/nodes/NODE)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=opam.example.org \
  -addext subjectAltName=DNS:opam.example.org,DNS:www.opam.example.org \
  -keyout "$demo/privkey.pem" -out "$demo/fullchain.pem" 2>/dev/null
for i in 1 2 3; do
  root=$demo/nodes/web$i
  mkdir -p "$root/etc/letsencrypt/live/opam.example.org"
  cp "$demo/fullchain.pem" "$demo/privkey.pem" "$root/etc/letsencrypt/live/opam.example.org/"
  in_node "web$i" "$agent" run "${controllers[@]}" --node "web$i" \
    --join-token "$token" --ca-hash "$ca_hash" --root "$root" --interval 10s > "$demo/logs/web$i.log" 2>&1 &
  echo $! > "$demo/pids/web$i"
done
for i in 1 2 3; do
  for _ in $(seq 1 300); do grep -q 'connected to' "$demo/logs/web$i.log" && break; sleep 0.1; done
  grep -q 'connected to' "$demo/logs/web$i.log" || { echo "error: web$i did not connect:" >&2; cat "$demo/logs/web$i.log" >&2; exit 1; }
done

# "connected" is printed once the hello is sent; wait until the controller lists all three.
for _ in $(seq 1 100); do
  [ "$("$ctl" status -o json | python3 -c 'import json,sys; print(sum(n["connected"] for n in json.load(sys.stdin)["nodes"]))')" = 3 ] && break
  sleep 0.2
done

log "hawserctl apply -f examples/opam-demo.yaml"
"$ctl" apply -f examples/opam-demo.yaml -m "demo: opam web hosts" | sed 's/^/    /'
for _ in $(seq 1 120); do
  states=$("$ctl" status -o json | python3 -c 'import json,sys; print(" ".join(n["state"] for n in json.load(sys.stdin)["nodes"]))')
  [ "$states" = "in-sync in-sync in-sync" ] && break
  sleep 0.5
done

log "hawserctl status"
"$ctl" status
if [ "$states" != "in-sync in-sync in-sync" ]; then
  echo "error: the nodes did not all reach in-sync (states: $states); logs in $demo/logs" >&2
  exit 1
fi

log "who did it: hawserctl events --actor $operator"
"$ctl" events --actor "$operator" | sed 's/^/    /'

log "certificate for www.demo.hawser.test from Pebble, on every node (hawserctl certs)"
# Installed on all three: every node's report has the serial the controller holds.
# every_node installed|served: "yes" once each of demo-rr's nodes reports the serial the controller holds installed
# (on disk), or served (read back from the node's server).
every_node() {
  "$ctl" certs -o json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["certificates"]:
    has = {n for n, s in c["installed"].items() if s == c["serial"]} if sys.argv[1] == "installed" else {s["node"] for s in c["served"] if s["serial"] == c["serial"]}
    if c["name"] == "demo-rr" and c["serial"] and has == set(c["nodes"]):
        print("yes")' "$1"
}
installed() { every_node installed; }
for _ in $(seq 1 120); do [ "$(installed)" = yes ] && break; sleep 0.5; done
"$ctl" certs
if [ "$(installed)" != yes ]; then
  echo "error: the certificate for www.demo.hawser.test is not on all three nodes; logs in $demo/logs" >&2
  exit 1
fi
echo "    installed as /etc/nginx/certs/demo.crt + .key under each node's root (.demo/nodes/webN)"

log "what each node really serves: nginx on the node's 127.0.0.1:443, reading the installed files"
# The agent opens TLS to 127.0.0.1:443 (an install's default verify:) on every converge and reports the leaf it is
# served; hawserctl certs says 'served' once that is the serial the controller holds.
for i in 1 2 3; do
  root=$demo/nodes/web$i run=/run/$prefix-web$i
  mkdir -p "$run/nginx"
  cat > "$run/nginx/nginx.conf" <<EON
daemon on; worker_processes 1; user root; pid $run/nginx/nginx.pid; error_log $demo/logs/nginx-web$i.log;
events {}
http {
  access_log off; client_body_temp_path $run/nginx/t1; proxy_temp_path $run/nginx/t2; fastcgi_temp_path $run/nginx/t3;
  uwsgi_temp_path $run/nginx/t4; scgi_temp_path $run/nginx/t5;
  server { listen 127.0.0.1:443 ssl; ssl_certificate $root/etc/nginx/certs/demo.crt; ssl_certificate_key $root/etc/nginx/certs/demo.key; return 200 "web$i\n"; }
}
EON
  nsenter --net="/run/netns/$prefix-web$i" nginx -c "$run/nginx/nginx.conf"
done
served() { every_node served; }
for _ in $(seq 1 120); do [ "$(served)" = yes ] && break; sleep 0.5; done
"$ctl" certs
if [ "$(served)" != yes ]; then
  echo "error: not every node's nginx serves the certificate the controller holds; logs in $demo/logs" >&2
  exit 1
fi

log "IPv6: a container on each node's user network, at its static service address"
for i in 1 2 3; do
  docker -H "unix:///run/$prefix-web$i/docker.sock" run -d --name svc --network web --ip6 "fd68:6177::$i:80" hawser-demo/busybox \
    /bin/busybox sh -c "busybox mkdir -p /www && echo 'hello from the container on web$i' > /www/index.html && exec busybox httpd -f -p 80 -h /www" >/dev/null
done
hub() { nsenter --net="/run/netns/$prefix-hub" "$@"; }
fetch() { hub python3 -c 'import sys, urllib.request as u; print(u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=3).read().decode().strip())' "http://[$1]/" 2>/dev/null; }
reach() { # ADDRESS: ping6 and HTTP from the hub (the provider's router), waiting up to 15 s for the first answer
  for _ in $(seq 1 30); do hub busybox ping -6 -c 1 -W 1 "$1" >/dev/null 2>&1 && break; sleep 0.5; done
  hub busybox ping -6 -c 1 -W 2 "$1" >/dev/null 2>&1 && echo "    ping6 $1 from the hub: answered" || { echo "    ping6 $1 from the hub: no answer"; return 1; }
  echo "    http://[$1]/ from the hub: $(fetch "$1" || echo 'no answer')"
}
for i in 1 2 3; do
  reach "fd68:6177::$i:80" || { echo "error: web$i's container is not reachable over IPv6; logs in $demo/logs" >&2; exit 1; }
done
echo "    each answer crossed the node: the hub's neighbour solicitation was answered by the node's kernel"
echo "    (proxy entry from ndpProxy), forwarded (net.ipv6.conf.all.forwarding, ufw), to dockerd's IPv6 network"

log "without Hawser's setting: a second container on web1, at fd68:6177::1:81, which the spec does not proxy"
docker -H "unix:///run/$prefix-web1/docker.sock" run -d --name svc2 --network web --ip6 fd68:6177::1:81 hawser-demo/busybox \
  /bin/busybox sh -c "busybox mkdir -p /www && echo 'hello from the unproxied container' > /www/index.html && exec busybox httpd -f -p 80 -h /www" >/dev/null
if hub busybox ping -6 -c 2 -W 2 fd68:6177::1:81 >/dev/null 2>&1; then
  echo "error: the unproxied container answered; the demo's network is not what it expects" >&2; exit 1
fi
echo "    ping6 fd68:6177::1:81 from the hub: no answer (nobody answers the router's neighbour solicitation for it);"
echo "    web1's proxy entries: $(ip -n "$prefix-web1" -6 neigh show proxy | tr '\n' ' ')"
echo "    add it to web1's ndpProxy.addresses in examples/opam-demo.yaml and apply to reach it"
if [ -n "$ha" ]; then
  log "failover: controller 1 stops (it tells its agents to move); the fleet through controller 2"
  echo "    before: CONTROLLER holds each agent's stream, named HOST/PID/...: controller 1 is pid $(cat "$demo/pids/controller1"), controller 2 pid $(cat "$demo/pids/controller2")"
  "$ctl" status | sed 's/^/    /'
  pid=$(cat "$demo/pids/controller1"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  connected=0
  for _ in $(seq 1 150); do
    connected=$("$ctl" --controller "https://$controller_ip:7444" status -o json 2>/dev/null | python3 -c 'import json,sys; print(sum(n["connected"] for n in json.load(sys.stdin)["nodes"]))' || echo 0)
    [ "$connected" = 3 ] && break
    sleep 0.2
  done
  echo "    after: every agent on controller 2 (hawserctl, whose first controller is down, says it moved on):"
  "$ctl" status 2>&1 | sed 's/^/    /'
  [ "$connected" = 3 ] || { echo "error: not every agent moved to controller 2; logs in $demo/logs" >&2; exit 1; }
  start_controller 1 "$demo/controller" 7443
  echo "    controller 1 is back; both serve everything, and hawserctl asks the next when one is down"
fi
# The closing words say what clients of each node get, read back from each node's nginx just now.
served_now=$("$ctl" certs -o json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["certificates"]:
    if c["name"] == "demo-rr":
        served = {s["node"] for s in c["served"] if s["serial"] == c["serial"]}
        print(", ".join(n + (" served" if n in served else " NOT served") for n in c["nodes"]) + " (serial " + str(c["serial"]) + ")")')
cat <<EOM
==> the demo runs: certificate demo-rr on $served_now. From this checkout:
      $ctl status            (hawserctl's config: $ctl_config)
      $ctl status web1
      $ctl certs renew demo-rr   (a new order; Pebble validates through whichever node is first in DNS)
    web UI: $url/  (log in with the break-glass admin token, on in this demo: cat $demo/controller/ui-token)
    try drift: sed -i 's/^DEFAULT_FORWARD_POLICY=.*/DEFAULT_FORWARD_POLICY="DROP"/' .demo/nodes/web2/etc/default/ufw, then watch status (DRIFT)
    IPv6: nsenter --net=/run/netns/$prefix-hub busybox ping -6 -c 1 fd68:6177::2:80
          docker -H unix:///run/$prefix-web2/docker.sock ps ; ip -n $prefix-web2 -6 neigh show proxy
    told, not polled (README: Alerts and notifications): $ctl notifications (off here: start a controller with --notifications FILE)
      alert rules packaging/prometheus/hawser-rules.yml, dashboard packaging/grafana/hawser-dashboard.json
      each agent's metrics for node_exporter: cat .demo/nodes/web1/var/lib/prometheus/node-exporter/hawser.prom
    remove everything: ./demo.sh down
EOM
if [ "$ctl_config" = "$demo/hawserctl.yaml" ]; then echo "    (export HAWSER_CONFIG=$ctl_config first)"; fi
