-- /topic [text]: each room's topic, shown to whoever joins and kept (pl.kv).
-- Alone it shows the topic; "/topic -" clears it; the room hears of changes.
local function key(room) return "topic:" .. room end
local function said(t) return t.text .. " (set by " .. t.by .. ")" end

pl.on("join", function(s, room)
  local t = pl.kv.board:get(key(room))
  if t then s:send(pl.chat_event("system", { room = room, body = "Topic: " .. said(t) })) end
end)

pl.command{
  name = "topic", args = "[text | -]", help = "Show or set this room's topic (- clears it)",
  run = function(s, args)
    local t = pl.kv.board:get(key(s.room))
    if args == "" then
      return s:text(t and ("Topic of #" .. s.room .. ": " .. said(t)) or ("#" .. s.room .. " has no topic."))
    elseif args == "-" then
      pl.kv.board:set(key(s.room), nil)
      return pl.chat.announce(s.room, s.handle .. " cleared the topic.")
    end
    local text = pl.cut(args, 120)
    pl.kv.board:set(key(s.room), { text = text, by = s.handle, ms = pl.now() })
    pl.chat.announce(s.room, s.handle .. " set the topic: " .. text)
  end,
}
