// A WebSocket client in a process of its own, run inside a network
// namespace by tests/lib/netns.js: each line on stdin is {"send": text};
// each event on the socket is one line of JSON on stdout. It answers pings
// as any ws client does.
'use strict';
const path = require('path');
const readline = require('readline');
const WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));

const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const ws = new WebSocket(process.argv[2]);
ws.on('open', () => out({ e: 'open' }));
ws.on('message', (d) => out({ e: 'message', data: String(d) }));
ws.on('error', (err) => out({ e: 'error', message: err.message }));
ws.on('close', (code, reason) => { out({ e: 'close', code, reason: String(reason) }); process.exit(0); });
readline.createInterface({ input: process.stdin }).on('line', (line) => ws.send(JSON.parse(line).send));
process.stdin.on('end', () => process.exit(0));
