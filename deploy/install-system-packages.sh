#!/usr/bin/env bash
# Debian packages the test suite needs: a real PostgreSQL server and a real Chromium.
# Installs only what is missing, so a prepared machine pays nothing.
set -euo pipefail
needed=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || needed+=(postgresql)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${needed[*]} (install them as root: apt-get install ${needed[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${needed[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
