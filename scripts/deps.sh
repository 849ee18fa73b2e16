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
BUILD="g++ make pkg-config libuv1-dev libwebsockets-dev libwebsockets-evlib-uv liblua5.4-dev libcjson-dev libsqlite3-dev libsodium-dev libssl-dev libhiredis-dev john-data"
# sqlite3: a test makes a database as an older server left it
TEST="telnet chromium lua5.4 curl sqlite3 redis-server"
pkgs=$BUILD
[ "$what" = test ] && pkgs="$BUILD $TEST"
[ "$what" = fuzz ] && pkgs="$BUILD clang libclang-rt-14-dev"
[ "$what" = bench ] && pkgs="$BUILD libwebsockets-test-server gnuplot-nox redis-server"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from Debian or elsewhere; only install when absent
if { [ "$what" = test ] || [ "$what" = bench ]; } && ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if { [ "$what" = test ] || [ "$what" = bench ]; } && [ ! -d tests/node_modules/playwright-core ]; then
  echo "deps: installing playwright-core (npm) in tests/"
  (cd tests && npm install --no-audit --no-fund --silent >/dev/null)
fi
exit 0
