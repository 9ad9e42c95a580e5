#!/usr/bin/env bash
# The test command (README: `npm test`). Works on a fresh Debian machine as root with only
# Node.js 20 and npm: installs redis-server, haproxy (the rolling-restart test balances its
# cluster with it), ejabberd (the XEP-0227 import test reads its export) and the npm dependencies when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for command in redis-server haproxy; do
  command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
# The XEP-0227 interoperability test exports from the real ejabberd (test/xep0227/ejabberd.test.ts).
command -v ejabberdctl >/dev/null 2>&1 || missing+=(ejabberd)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "${missing[*]} missing: install (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npx tsc -p tsconfig.json --noEmit
# Tests that start `bin/rookery.js` run the compiled dist/, as an installed node does.
node scripts/build.mjs --if-stale
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
node scripts/test-summary.mjs .tmp/vitest.json || true
exit "$status"
