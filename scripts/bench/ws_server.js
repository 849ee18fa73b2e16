// The Node `ws` reference: the least a broadcast chat server can be. Every
// message goes to everyone in the sender's room (sender included); a client
// picks its room with "/join <room>". No logins, no history, no limits.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 7690);
const rooms = new Map(); // name -> Set of sockets
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });

function join(ws, name) {
  if (ws.room) rooms.get(ws.room).delete(ws);
  if (!rooms.has(name)) rooms.set(name, new Set());
  rooms.get(name).add(ws);
  ws.room = name;
}

wss.on('connection', (ws) => {
  join(ws, 'lobby');
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    if (text.startsWith('/join ')) return join(ws, text.slice(6).trim());
    for (const peer of rooms.get(ws.room)) peer.send(text, { binary: isBinary });
  });
  ws.on('close', () => rooms.get(ws.room).delete(ws));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log('ready on ' + port));
