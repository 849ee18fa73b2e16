// A network namespace joined to this one by a veth pair, for clients that
// vanish as a phone off the network does: the link goes down and the
// client's socket neither closes nor answers, without a FIN or a reset.
// Needs root and iproute2 (`ip`). Names and addresses are unique per run,
// so that parallel runs do not clash; destroy() removes everything (call it
// in a finally).
'use strict';
const { spawn, execFileSync } = require('child_process');
const EventEmitter = require('events');
const path = require('path');
const readline = require('readline');

let made = 0;

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A /30 in 10.200.0.0/14 that no interface here has yet.
function freeSubnet() {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let i = 0; i < 1000; i++) {
    const n = Math.floor(Math.random() * (1 << 16));
    const base = `10.${200 + (n >> 14)}.${(n >> 6) & 255}.${(n & 63) * 4}`;
    const prefix = base.slice(0, base.lastIndexOf('.') + 1);
    const last = Number(base.slice(base.lastIndexOf('.') + 1));
    const host = prefix + (last + 1), client = prefix + (last + 2);
    if (!used.includes(` ${host}/`) && !used.includes(` ${client}/`)) return { host, client };
  }
  throw new Error('no free subnet for a test namespace');
}

class Netns {
  static create() {
    if (process.getuid && process.getuid() !== 0) throw new Error('network namespace tests need root (ip netns)');
    const ns = new Netns();
    const id = `${process.pid % 100000}x${made++}`;
    ns.name = `pl${id}`;
    ns.hostIf = `plh${id}`; // at most 15 characters
    ns.nsIf = `plc${id}`;
    const { host, client } = freeSubnet();
    ns.hostAddr = host;
    ns.clientAddr = client;
    ns.procs = [];
    try {
      ip('netns', 'add', ns.name);
      ns.added = true;
      ip('link', 'add', ns.hostIf, 'type', 'veth', 'peer', 'name', ns.nsIf);
      ip('link', 'set', ns.nsIf, 'netns', ns.name);
      ip('addr', 'add', `${host}/30`, 'dev', ns.hostIf);
      ip('link', 'set', ns.hostIf, 'up');
      ip('netns', 'exec', ns.name, 'ip', 'addr', 'add', `${client}/30`, 'dev', ns.nsIf);
      ip('netns', 'exec', ns.name, 'ip', 'link', 'set', ns.nsIf, 'up');
      ip('netns', 'exec', ns.name, 'ip', 'link', 'set', 'lo', 'up');
    } catch (e) {
      ns.destroy();
      throw e;
    }
    return ns;
  }

  // What runs a command inside the namespace.
  prefix() { return ['ip', 'netns', 'exec', this.name]; }

  // The link goes down (the client vanishes) or comes back.
  down() { ip('netns', 'exec', this.name, 'ip', 'link', 'set', this.nsIf, 'down'); }
  up() { ip('netns', 'exec', this.name, 'ip', 'link', 'set', this.nsIf, 'up'); }

  // A WebSocket client inside the namespace (the ws library, as the harness's
  // clients are, in a process of its own: tests/lib/nsrelay.js), as an object
  // that behaves as a ws client for the harness's WsClient.
  ws(url) {
    const sock = new EventEmitter();
    const proc = spawn('ip', ['netns', 'exec', this.name, process.execPath, path.join(__dirname, 'nsrelay.js'), url],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    this.procs.push(proc);
    let gone = false;
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line);
      if (m.e === 'open') sock.emit('open');
      else if (m.e === 'message') sock.emit('message', Buffer.from(m.data));
      else if (m.e === 'error') sock.emit('error', new Error(m.message));
      else if (m.e === 'close') { gone = true; sock.emit('close', m.code, Buffer.from(m.reason)); }
    });
    proc.on('exit', () => { if (!gone) { gone = true; sock.emit('close', 1006, Buffer.alloc(0)); } });
    sock.send = (text) => { if (!gone) proc.stdin.write(JSON.stringify({ send: String(text) }) + '\n'); };
    sock.terminate = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
    return sock;
  }

  destroy() {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    try { ip('link', 'del', this.hostIf); } catch (e) { /* never made, or gone with the namespace */ }
    if (this.added) {
      try { ip('netns', 'del', this.name); } catch (e) { /* already gone */ }
    }
  }
}

module.exports = { Netns };
