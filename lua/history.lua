-- history.lua: the last lines of each room, kept in the database (so they
-- survive a restart) and shown to whoever joins, marked "history": true with
-- their original time. Built on pl.db and the chat events (join, line);
-- change KEEP to keep more or fewer.
--
-- Bounded, so that nobody can grow the database by opening rooms: history
-- is kept for at most `history_rooms_max` rooms (lines said in rooms past
-- that are not kept, and joiners are told), and an empty room's history
-- expires `history_expire_s` after its last line. Writes go through
-- pl.db.defer: live chat never waits for them, and when storage is away
-- (locked, disk full) they are kept in memory and written when it is back.
local KEEP = 50 -- lines per room

local function setting(key, default) return tonumber(pl.config(key) or "") or default end

pl.db.exec([[CREATE TABLE IF NOT EXISTS s_history (
  id INTEGER PRIMARY KEY,
  room TEXT NOT NULL,
  ts TEXT NOT NULL,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  body TEXT NOT NULL)]])
pl.db.exec("CREATE INDEX IF NOT EXISTS s_history_room ON s_history(room, id)")
-- the line's chat id, as the room was sent it (older databases lack it)
pcall(pl.db.exec, "ALTER TABLE s_history ADD COLUMN cid TEXT")
-- the rooms that have history, with the time of their last line (ms)
pl.db.exec("CREATE TABLE IF NOT EXISTS s_history_rooms (room TEXT PRIMARY KEY, last_ms INTEGER NOT NULL)")

pl.history = {}

-- Rooms with history, as this generation knows them (name -> true), and how many.
local known, nknown = {}, 0
local touched = {} -- room -> when its last_ms was last written

local function load_known()
  -- history from before s_history_rooms existed counts from now
  -- (WHERE true: SQLite's parser wants it between a SELECT and ON CONFLICT)
  pl.db.exec("INSERT INTO s_history_rooms (room, last_ms) SELECT DISTINCT room, CAST(? AS INTEGER) FROM s_history WHERE true ON CONFLICT DO NOTHING", pl.now())
  known, nknown = {}, 0
  for _, r in ipairs(pl.db.query("SELECT room FROM s_history_rooms")) do
    known[r.room] = true
    nknown = nknown + 1
  end
end
pl.try("loading the rooms with history", load_known)

-- Whether lines said in room are kept: it has history already, or there is
-- room for one more.
function pl.history.keeps(room)
  return known[room] or nknown < setting("history_rooms_max", 500)
end

function pl.history.has(room) return known[room] == true end

function pl.history.record(ev)
  if not pl.history.keeps(ev.room) then return end
  if not known[ev.room] then
    known[ev.room] = true
    nknown = nknown + 1
  end
  pl.db.defer("INSERT INTO s_history(room, ts, kind, sender, body, cid) VALUES (?, ?, ?, ?, ?, ?)",
    ev.room, ev.ts, ev.kind, ev.from or "", ev.body, ev.id) -- the board's own lines have no sender
  pl.db.defer([[DELETE FROM s_history WHERE room = ? AND id <=
    (SELECT id FROM s_history WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?)]], ev.room, ev.room, KEEP)
  -- the room's last line time, refreshed now and then rather than per line
  local now = pl.now()
  if now - (touched[ev.room] or 0) >= math.min(60000, setting("history_expire_s", 2592000) * 250) then
    touched[ev.room] = now
    pl.db.defer([[INSERT INTO s_history_rooms (room, last_ms) VALUES (?, ?)
      ON CONFLICT(room) DO UPDATE SET last_ms = excluded.last_ms]], ev.room, now)
  end
end

function pl.history.replay(s, room)
  local ok = pl.try("room history", function()
    local rows = pl.db.query("SELECT ts, kind, sender, body, cid FROM s_history WHERE room = ? ORDER BY id DESC LIMIT ?", room, KEEP)
    local ids, evs = {}, {}
    -- a terminal has no "history": true to dim by, as the web page does:
    -- the lines come gray under a rule, a screen at a time (pl.page)
    local term = s.terminal and s.terminal.transport ~= "websocket"
    if term and #rows > 0 then
      evs[1] = { type = "text", text = s:color("gray", "--- earlier in #" .. room .. " ---") }
    end
    for i = #rows, 1, -1 do
      local r = rows[i]
      local from = r.sender ~= "" and r.sender or nil
      local ev = pl.chat_event(r.kind, { room = room, from = from, body = r.body, ts = r.ts, history = true, id = r.cid }, s)
      if term then ev.text = s:color("gray", pl.text.strip(ev.text)) end
      evs[#evs + 1] = ev
      ids[#ids + 1] = r.cid
    end
    pl.page(s, evs)
    -- on a board of many processes a line can be in the history before its
    -- publish reaches this process: it is not shown a second time
    if pl.cluster().state ~= "off" then pl.skip_repeats(s, ids) end
  end)
  if not ok then
    s:send(pl.chat_event("system", { body = "This room's earlier lines cannot be shown right now." }))
  elseif not pl.history.keeps(room) then
    s:send(pl.chat_event("system", { body = "Lines said in #" .. room .. " are not kept: this board keeps history for " ..
      setting("history_rooms_max", 500) .. " rooms at most." }))
  end
end

-- Empty rooms whose last line is older than history_expire_s lose their
-- history (and their place under history_rooms_max).
function pl.history.expire()
  local after = setting("history_expire_s", 2592000)
  if after <= 0 then return 0 end
  local cutoff, gone = pl.now() - after * 1000, 0
  for _, r in ipairs(pl.db.query("SELECT room FROM s_history_rooms WHERE last_ms < ?", cutoff)) do
    if #pl.members(r.room) == 0 then
      pl.db.exec("DELETE FROM s_history WHERE room = ?", r.room)
      pl.db.exec("DELETE FROM s_history_rooms WHERE room = ?", r.room)
      if known[r.room] then
        known[r.room] = nil
        nknown = nknown - 1
      end
      touched[r.room] = nil
      gone = gone + 1
    end
  end
  if gone > 0 then pl.log("history of " .. gone .. " empty " .. (gone == 1 and "room" or "rooms") .. " expired", "history_expired") end
  return gone
end

pl.on("join", function(s, room) pl.history.replay(s, room) end)
pl.on("line", function(_, ev) pl.history.record(ev) end)
pl.on("announce", function(_, ev) pl.history.record(ev) end)

-- swept every minute, or more often when the expiry is short
local every = math.max(1000, math.min(60000, setting("history_expire_s", 2592000) * 500))
pl.every(every, function() pl.try("expiring history", pl.history.expire) end)
