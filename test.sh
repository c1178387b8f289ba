#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build, run every test project, and end with
# the line "N passed, N failed" counted from the TRX results (a skipped test counts as failed).
# Extra arguments go to dotnet test, e.g. ./test.sh --filter "FullyQualifiedName~WireProtocol".
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh
echo "==> dotnet build -warnaserror"
dotnet build Cluster.sln -nologo -v quiet -warnaserror | grep -vE '^\s*$' | tail -n 3

results=$(mktemp -d "${TMPDIR:-/tmp}/hawser-test-results.XXXXXX")
trap 'rm -rf "$results"' EXIT
echo "==> dotnet test"
status=0
dotnet test Cluster.sln --no-build -nologo --logger trx --results-directory "$results" "$@" || status=$?

python3 scripts/trx-summary.py "$results" || status=$?
exit "$status"
