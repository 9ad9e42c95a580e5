#!/usr/bin/env bash
# The test command (README: `npm test`). Works on a fresh Debian machine as root with only
# Node.js 20 and npm: installs redis-server, haproxy (the rolling-restart test balances its
# cluster with it), chromium (the browser test), ejabberd (the XEP-0227 import test reads its export), python3-slixmpp (Debian's
# slixmpp is among the rolling-restart clients: test/support/slix-client.py) and the npm dependencies
# when they are missing.
#
# `scripts/test.sh --node 24 [vitest arguments]` (or ROOKERY_TEST_NODE=24 npm test) runs the whole
# suite on another Node.js major, fetched from the npm registry (the `node` package, into npx's
# cache) and put first on PATH, so that every `node` the tests start is that one.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major="${ROOKERY_TEST_NODE:-}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --node) node_major="${2:?--node needs a major version, e.g. --node 24}"; shift 2 ;;
    --node=*) node_major="${1#--node=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- ${args[@]+"${args[@]}"}
if [ -n "$node_major" ] && [ "$(node -p 'process.versions.node.split(".")[0]')" != "$node_major" ]; then
  node_bin="$(npx -y -p "node@$node_major" node -p 'process.execPath')"
  PATH="$(dirname "$node_bin"):$PATH"
  export PATH
  echo "Node.js $(node --version) from the npm registry ($node_bin)"
  # Native addons are built for the Node.js that installed them (its ABI).
  if ! node -e "new (require('better-sqlite3'))(':memory:')" >/dev/null 2>&1; then
    echo "warning: better-sqlite3 in node_modules is built for another Node.js ABI: the embedded store's tests fail" >&2
    echo "  (rebuild it on this Node.js in a checkout of its own: npm rebuild better-sqlite3)" >&2
  fi
fi

missing=()
for command in redis-server haproxy; do
  command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
# The XEP-0227 interoperability test exports from the real ejabberd (test/xep0227/ejabberd.test.ts).
command -v ejabberdctl >/dev/null 2>&1 || missing+=(ejabberd)
# The browser test runs Converse.js in Debian's Chromium (test/browser/), driven by playwright-core.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# A real peer for the federation tests (test/s2s/); its system service must not hold 5222/5269.
command -v prosody >/dev/null 2>&1 || missing+=(prosody)
# Another XEP-0198 implementation than ours among the rolling-restart clients (test/rolling/).
# Debian's python3 (/usr/bin), which the test uses: a python3 of pyenv's or a venv's first on PATH does not see it.
"$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )" -c 'import slixmpp' >/dev/null 2>&1 || missing+=(python3-slixmpp)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The tests start their own instances on loopback ports; the packaged service stays off.
    if [[ " ${missing[*]} " == *" prosody "* ]]; then
      if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prosody >/dev/null 2>&1 || true; fi
      # Without systemd, the package's init script may have started it.
      if command -v service >/dev/null 2>&1; then service prosody stop >/dev/null 2>&1 || true; fi
    fi
  else
    echo "${missing[*]} missing: install (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# A node_modules that is a symbolic link is another checkout's install (a git worktree sharing it):
# npm ci would empty the linked directory, so it is never reinstalled from here.
if [ -L node_modules ]; then
  :
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npx tsc -p tsconfig.json --noEmit
# Tests that start `bin/rookery.js` run the compiled dist/, as an installed node does.
node scripts/build.mjs --if-stale
mkdir -p .tmp
status=0
# On success little more than the summary: the console output of passing tests is dropped, and the
# long runs (chaos, rolling restart, fuzzing) write their reports to .tmp/reports/, printed on failure.
npx vitest run --silent=passed-only --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
node scripts/test-summary.mjs .tmp/vitest.json || true
exit "$status"
