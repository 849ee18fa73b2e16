#!/bin/sh
# Copies what the web page uses from npm (scripts/www/package.json, pinned by
# its lock file) into etc/www/vendor, so that the page is served as files,
# with no bundler and no build step of its own. Runs from `make`; does
# nothing when the copies are newer than the lock file.
set -e
cd "$(dirname "$0")/.."
out=etc/www/vendor
lock=scripts/www/package-lock.json
# The page's ANSI art is drawn in DejaVu Sans Mono (Debian's fonts-dejavu-core):
# every box-drawing and block character, and glyphs that fill the line's
# height, so borders join from one line to the next on every machine.
fonts=/usr/share/fonts/truetype/dejavu
mkdir -p $out
for f in DejaVuSansMono.ttf DejaVuSansMono-Bold.ttf; do
  if [ ! -f $out/$f ]; then
    if [ ! -f $fonts/$f ]; then
      echo "vendor: $fonts/$f is missing (scripts/deps.sh build installs fonts-dejavu-core)" >&2
      exit 1
    fi
    cp $fonts/$f $out/
  fi
done
[ -f $out/DejaVu.LICENSE ] || cp /usr/share/doc/fonts-dejavu-core/copyright $out/DejaVu.LICENSE
if [ -f $out/xterm.js ] && [ $out/xterm.js -nt $lock ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor: npm is missing (scripts/deps.sh build installs it)" >&2
  exit 1
fi
echo "vendor: xterm.js for the web page (npm) into $out"
(cd scripts/www && npm ci --no-audit --no-fund --silent >/dev/null)
mkdir -p $out
m=scripts/www/node_modules/@xterm
cp $m/xterm/lib/xterm.js $m/xterm/css/xterm.css $m/addon-fit/lib/addon-fit.js $out/
cp $m/xterm/LICENSE $out/xterm.LICENSE
touch $out/xterm.js
