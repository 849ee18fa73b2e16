#!/bin/sh
# Installs the Debian packages partyline needs, only when something is missing,
# so `make run` / `make test` are the whole set-up on a fresh bookworm machine.
#   scripts/deps.sh build   - compiler and libraries
#   scripts/deps.sh test    - build + real clients used by the tests
#   scripts/deps.sh fuzz    - build + clang and libFuzzer
#   scripts/deps.sh bench   - build + the reference servers and gnuplot
set -e
what=${1:-build}
# john-data: its password.lst is the common-password list (password_list)
# libpq-dev: PostgreSQL's client library, for store = postgresql://...
# fonts-dejavu-core: the web page draws ANSI art in DejaVu Sans Mono (scripts/vendor.sh)
BUILD="g++ make pkg-config libuv1-dev libwebsockets-dev libwebsockets-evlib-uv liblua5.4-dev libcjson-dev libsqlite3-dev libsodium-dev libssl-dev libhiredis-dev libssh-dev libpq-dev john-data fonts-dejavu-core"
# sqlite3: a test makes a database as an older server left it
# openssl: throwaway certificates and s_client; nginx (with its stream module)
# and haproxy: real reverse proxies in front of the server (tests/integration/proxy.test.js)
# redis-server: the cluster's bus and node table (tests/integration/cluster.test.js)
# postgresql: initdb and pg_ctl (in /usr/lib/postgresql/15/bin) for a throwaway
# cluster, psql to look inside it (tests/lib/postgres.js, pgstore.test.js)
# iproute2 (ip netns): clients that vanish from the network (tests/integration/keepalive.test.js)
# openssh-client and tmux: OpenSSH's ssh on a real terminal (tests/integration/ssh.test.js)
TEST="telnet chromium lua5.4 curl sqlite3 openssl nginx libnginx-mod-stream haproxy iproute2 redis-server openssh-client tmux postgresql"
pkgs=$BUILD
[ "$what" = test ] && pkgs="$BUILD $TEST"
[ "$what" = fuzz ] && pkgs="$BUILD clang libclang-rt-14-dev"
[ "$what" = bench ] && pkgs="$BUILD libwebsockets-test-server gnuplot-nox redis-server"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from Debian or elsewhere; only install when absent
# (the build too: the web page's xterm.js comes from npm, scripts/vendor.sh)
if [ "$what" != fuzz ] && ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  # the tests start nginx and haproxy themselves: their packages must not start
  # system services on ports 80 and 443 (policy-rc.d is Debian's way to say so)
  prc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    prc=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee $prc >/dev/null && $SUDO chmod +x $prc
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  if [ -n "$prc" ]; then $SUDO rm -f $prc; fi
fi
if { [ "$what" = test ] || [ "$what" = bench ]; } && { [ ! -d tests/node_modules/playwright-core ] || [ ! -d tests/node_modules/axe-core ]; }; then
  echo "deps: installing playwright-core and axe-core (npm) in tests/"
  (cd tests && npm install --no-audit --no-fund --silent >/dev/null)
fi
exit 0
