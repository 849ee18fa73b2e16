-- history.lua: the last lines of each room, kept in the database (so they
-- survive a restart) and shown to whoever joins, marked "history": true with
-- their original time. Built on pl.db; change KEEP to keep more or fewer.
local KEEP = 50 -- lines per room

pl.db.exec([[CREATE TABLE IF NOT EXISTS s_history (
  id INTEGER PRIMARY KEY,
  room TEXT NOT NULL,
  ts TEXT NOT NULL,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  body TEXT NOT NULL)]])
pl.db.exec("CREATE INDEX IF NOT EXISTS s_history_room ON s_history(room, id)")

pl.history = {}

function pl.history.record(ev)
  pl.db.exec("INSERT INTO s_history(room, ts, kind, sender, body) VALUES (?, ?, ?, ?, ?)",
    ev.room, ev.ts, ev.kind, ev.from, ev.body)
  pl.db.exec([[DELETE FROM s_history WHERE room = ? AND id <=
    (SELECT id FROM s_history WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?)]], ev.room, ev.room, KEEP)
end

function pl.history.replay(s, room)
  local rows = pl.db.query("SELECT ts, kind, sender, body FROM s_history WHERE room = ? ORDER BY id DESC LIMIT ?", room, KEEP)
  for i = #rows, 1, -1 do
    local r = rows[i]
    s:send(pl.chat_event(r.kind, { room = room, from = r.sender, body = r.body, ts = r.ts, history = true }, s))
  end
end
