#!/usr/bin/env bash
# Whole-process comparison, side by side in one run: `hawser-agent apply --dry-run` on
# examples/opam.yaml against `ansible-playbook -c local --check` running the same tasks
# (ansible/opam-web1.yml), both on one temp root holding certbot-style certificate files.
# Prints the median wall time of each over N runs (default 10), the ratio, and each one's max RSS
# from /usr/bin/time -v. Needs Debian's ansible (ansible.posix) and openssl.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10}

# The agent as it ships: packaging/build-release.sh's NativeAOT binary
# (HAWSER_RELEASE=DIR uses an existing build's linux-x64/ instead).
publish=$(mktemp -d "${TMPDIR:-/tmp}/hawser-bench-agent.XXXXXX")
root=$(mktemp -d "${TMPDIR:-/tmp}/hawser-bench-root.XXXXXX")
trap 'rm -rf "$root" "$publish"' EXIT
if [[ -n ${HAWSER_RELEASE:-} ]]; then
  agent=$HAWSER_RELEASE/linux-x64/hawser-agent
else
  packaging/build-release.sh 0.0.0-bench --out "$publish" --only hawser-agent >/dev/null
  agent=$publish/linux-x64/hawser-agent
fi
live="$root/etc/letsencrypt/live/opam.example.org"
mkdir -p "$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=opam.example.org \
  -addext subjectAltName=DNS:opam.example.org,DNS:www.opam.example.org \
  -keyout "$live/privkey.pem" -out "$live/fullchain.pem" 2>/dev/null

hawser() { "$agent" apply -f examples/opam.yaml --node web1 --root "$root" --dry-run >/dev/null || [ $? -eq 2 ]; }
ansible() { ANSIBLE_NOCOLOR=1 ansible-playbook -c local -i localhost, --check -e root="$root" tests/Benchmarks/ansible/opam-web1.yml >/dev/null; }

. tests/Benchmarks/timing.sh

rss_kb() { /usr/bin/time -v bash -c "$(declare -f "$1"); agent=$agent root=$root $1" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }

hawser; ansible   # warm the page cache for both
h=$(median_ms hawser); a=$(median_ms ansible)
echo "hawser_agent_dry_run_ms=$h ansible_check_ms=$a ratio=$(awk "BEGIN {printf \"%.1f\", $a / $h}")"
echo "hawser_agent_max_rss_kb=$(rss_kb hawser) ansible_max_rss_kb=$(rss_kb ansible)"
