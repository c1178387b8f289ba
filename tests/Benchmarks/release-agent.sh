#!/usr/bin/env bash
# The release agent as it ships (packaging/build-release.sh: NativeAOT; the controller trimmed ReadyToRun,
# single file), measured as a whole process:
#   - the release artifacts' sizes;
#   - `apply --dry-run` of examples/opam.yaml: median wall time over N runs (default 20) and max RSS
#     (/usr/bin/time -v), beside the development build (`dotnet hawser-agent.dll`) in the same run;
#   - idle RSS of `hawser-agent run` connected to a controller, read from /proc after it has been
#     idle for IDLE seconds (default 30), and its max RSS over that life from /usr/bin/time -v.
# Usage: tests/Benchmarks/release-agent.sh [N] [IDLE]   (HAWSER_RELEASE=DIR: use that build's linux-x64/ instead of building)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
idle=${2:-30}

work=$(mktemp -d "${TMPDIR:-/tmp}/hawser-bench-release.XXXXXX")
cleanup() {
  [[ -n ${agent_pid:-} ]] && kill "$agent_pid" 2>/dev/null || true
  [[ -n ${controller_pid:-} ]] && kill "$controller_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n ${HAWSER_RELEASE:-} ]]; then
  cp -a "$HAWSER_RELEASE" "$work/release"
else
  echo "==> building the release (packaging/build-release.sh)"
  packaging/build-release.sh 0.0.0-bench --out "$work/release" > "$work/build.log"
fi
agent=$work/release/linux-x64/hawser-agent
dotnet build Cluster.sln -c Release -nologo -v quiet > /dev/null
dev_agent=src/Agent/bin/Release/net10.0/hawser-agent.dll
(cd "$work/release" && stat -c '%n %s' linux-x64/* ./*.deb ./*.tar.gz | awk '{printf "size %-40s %6.1f MiB\n", $1, $2 / 1048576}')

root=$work/root
live="$root/etc/letsencrypt/live/opam.example.org"
mkdir -p "$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=opam.example.org \
  -addext subjectAltName=DNS:opam.example.org,DNS:www.opam.example.org \
  -keyout "$live/privkey.pem" -out "$live/fullchain.pem" 2>/dev/null

release_dry_run() { env -i PATH=/usr/bin:/bin "$agent" apply -f examples/opam.yaml --node web1 --root "$root" --dry-run > /dev/null || [ $? -eq 2 ]; }
dev_dry_run() { dotnet "$dev_agent" apply -f examples/opam.yaml --node web1 --root "$root" --dry-run > /dev/null || [ $? -eq 2 ]; }

. tests/Benchmarks/timing.sh
# A dry run that finds changes exits 2; the RSS is what is wanted here.
max_rss_kb() { { /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } | awk -F': ' '/Maximum resident/ {print $2}'; }

release_dry_run; dev_dry_run   # warm the page cache
r=$(median_ms release_dry_run); d=$(median_ms dev_dry_run)
r_rss=$(max_rss_kb env -i PATH=/usr/bin:/bin "$agent" apply -f examples/opam.yaml --node web1 --root "$root" --dry-run)
d_rss=$(max_rss_kb dotnet "$dev_agent" apply -f examples/opam.yaml --node web1 --root "$root" --dry-run)
echo "dry_run_release_ms=$r dry_run_dev_ms=$d ratio=$(awk "BEGIN {printf \"%.2f\", $d / $r}") release_max_rss_kib=$r_rss dev_max_rss_kib=$d_rss (median of $runs)"

echo "==> idle agent connected to a controller ($idle s)"
data=$work/controller
dotnet src/Controller/bin/Release/net10.0/hawser-controller.dll init --data "$data" > /dev/null
dotnet src/Controller/bin/Release/net10.0/hawser-controller.dll run --data "$data" --listen 127.0.0.1:17447 > "$work/controller.log" 2>&1 &
controller_pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/controller.log" && break; sleep 0.1; done
ca_hash=$(awk '/^ca-hash/ {print $2}' "$work/controller.log")
pki=$data/pki
printf 'controller: https://127.0.0.1:17447\nca: %s/ca.crt\ncertificate: %s/admin.crt\nkey: %s/admin.key\n' "$pki" "$pki" "$pki" > "$work/ctl.yaml"
token=$(dotnet src/Ctl/bin/Release/net10.0/hawserctl.dll --config "$work/ctl.yaml" token create -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
agent_root=$work/agent-root
mkdir -p "$agent_root"
# AGENT_ENV="NAME=VALUE ..." adds settings to the agent's otherwise empty environment (GC knobs to try).
# shellcheck disable=SC2086
/usr/bin/time -v -o "$work/agent.time" env -i PATH=/usr/bin:/bin ${AGENT_ENV:-} "$agent" run --controller https://127.0.0.1:17447 --node bench1 \
  --join-token "$token" --ca-hash "$ca_hash" --root "$agent_root" > "$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do grep -q '^connected' "$work/agent.log" && break; sleep 0.1; done
grep -q '^connected' "$work/agent.log" || { echo "the agent did not connect:"; cat "$work/agent.log"; exit 1; }
sleep "$idle"
pid=$(pgrep -f "^$agent run --controller https://127.0.0.1:17447")
idle_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
breakdown=$(awk '/^Rss(Anon|File|Shmem)/ {printf "%s %s ", $1, $2}' "/proc/$pid/status")
kill "$pid"; wait "$agent_pid" || true; agent_pid=
echo "idle_rss_kib=$idle_rss ($(awk "BEGIN {printf \"%.1f\", $idle_rss / 1024}") MiB) max_rss_kib=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/agent.time") after ${idle}s connected ($breakdown kB)"
