// The core's layers (core/README.md): base < model < board < script < net,
// with main.cpp, wire.cpp and cli_user.cpp on top. A file may include only
// its own layer and those below it, so no include cycle can form between
// layers; and no file grows past the size one reader can hold.
'use strict';
const fs = require('fs');
const path = require('path');
const { ROOT } = require('../lib/harness');

const ORDER = ['base', 'model', 'board', 'script', 'cluster', 'net'];
const CORE = path.join(ROOT, 'core');

function files() {
  const out = [];
  for (const layer of ORDER)
    for (const f of fs.readdirSync(path.join(CORE, layer)))
      if (/\.(cpp|h)$/.test(f)) out.push({ layer, file: `${layer}/${f}` });
  return out;
}

exports.tests = [
  {
    name: 'every include in the core points to its own layer or one below it',
    fn: async () => {
      const wrong = [];
      for (const { layer, file } of files()) {
        const text = fs.readFileSync(path.join(CORE, file), 'utf8');
        for (const m of text.matchAll(/^#include "([a-z]+)\/[^"]+"/gm)) {
          if (!ORDER.includes(m[1])) wrong.push(`${file} includes ${m[0]} (no such layer)`);
          else if (ORDER.indexOf(m[1]) > ORDER.indexOf(layer)) wrong.push(`${file}: ${m[0]} (${layer} is below ${m[1]})`);
        }
        if (/^#include "[^/"]+"/m.test(text)) wrong.push(`${file} includes a file without its layer`);
      }
      if (wrong.length) throw new Error('layering broken:\n' + wrong.join('\n'));
      if (files().length < 30) throw new Error('found too few files: is the layout still core/<layer>/?');
    },
  },
  {
    name: 'no file in the core is over 500 lines',
    fn: async () => {
      const all = files().map((f) => f.file).concat(fs.readdirSync(CORE).filter((f) => /\.(cpp|h)$/.test(f)));
      const big = all.map((f) => [f, fs.readFileSync(path.join(CORE, f), 'utf8').split('\n').length])
        .filter(([, n]) => n > 500);
      if (big.length) throw new Error('over 500 lines: ' + big.map(([f, n]) => `${f} (${n})`).join(', '));
    },
  },
];
