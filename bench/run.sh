#!/usr/bin/env bash
# The benchmark command (bench/README.md): `npm run bench` (Rookery) and `npm run bench:peers`
# (Rookery, Prosody and ejabberd, writes bench/RESULTS.md). Raises the open-file limit to the hard
# limit, and, run as root on Debian, installs what is missing: redis-server, and for the peer
# comparison the prosody and ejabberd packages (they are run by the script itself, not by systemd).
set -euo pipefail
cd "$(dirname "$0")/.."

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
if [[ " $* " == *prosody* ]]; then command -v prosody >/dev/null 2>&1 || packages+=(prosody); fi
if [[ " $* " == *ejabberd* ]]; then command -v ejabberdctl >/dev/null 2>&1 || packages+=(ejabberd); fi
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${packages[*]}"
    apt-get update -qq
    # policy-rc.d or not: the packages' own services are not used (and stopped if they started).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    for service in prosody ejabberd; do
      if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then systemctl stop "$service" || true; fi
    done
  else
    echo "missing: ${packages[*]} (Debian: apt-get install ${packages[*]})" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi
exec node --import tsx bench/run.ts "$@"
