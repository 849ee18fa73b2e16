-- Unit tests for the scripts' own logic (command parsing, dispatch, rendering),
-- run by the plain lua5.4 interpreter against the real files in lua/ with small
-- stand-ins for the core's functions. Prints "ok"/"FAIL" lines and "N passed, N failed".

local sent = {}
local sessions = {}
local loading -- the file being loaded, as pl.loading_file() says
local listeners = {}
local pl = {
  Session = {}, hooks = {}, server = { name = "testboard", version = "0" },
  send = function(s, ev) sent[#sent + 1] = { to = s, ev = ev } return true end,
  traceback = function(m) return m end, now = function() return 0 end, log = function() end,
  sessions = function() return sessions end,
  sessions_of = function(h)
    local out = {}
    for _, s in ipairs(sessions) do if s.handle and h and s.handle:lower() == h:lower() then out[#out + 1] = s end end
    return out
  end,
  session_at = function(node) for _, s in ipairs(sessions) do if s.node == node then return s end end end,
  watchers = function() return {} end,
  array = function(t) return t end,
  members = function() return {} end,
  publish = function(room, ev) sent[#sent + 1] = { room = room, ev = ev } return 1 end,
  room_name = function(n) return n:match("^[%w_.-]+$") and n:lower() or nil end,
  join = function() end, leave = function() end, config = function() return nil end,
  ignoring = function() return false end,
  message_hooks = {},
  loading_file = function() return loading end,
  on = function(ev, fn) listeners[ev] = listeners[ev] or {} table.insert(listeners[ev], fn) end,
  emit = function(ev, ...)
    local failed = 0
    for _, fn in ipairs(listeners[ev] or {}) do if not pcall(fn, ...) then failed = failed + 1 end end
    return failed
  end,
  account = function() return nil end,
  cluster = function() return { state = "off" } end,
  emit_to = function(t, ev, ...) local f = 0 for _, fn in ipairs(listeners[ev] or {}) do if not pcall(fn, t, ...) then f = f + 1 end end return f end,
  emit_board = function(ev, ...) return true end,
  call = function(fn, ...) return xpcall(fn, debug.traceback, ...) end,
  faults = {},
  db = {
    exec = function() return 0, 0 end, query = function() return {} end,
    defer = function() return true end, unavailable = function() return false end,
  },
}
function pl.fault(err) table.insert(pl.faults, err) return false end
-- pl.text is the core's (script/api_text.cpp): plain stand-ins for ASCII text
local function strip_esc(t) return (t:gsub("\27%[[%d;]*%a", "")) end
pl.text = {
  strip = strip_esc,
  width = function(t) return utf8.len(strip_esc(t)) or #t end,
  fit = function(t, cols, pad)
    t = strip_esc(t)
    if #t > cols then t = t:sub(1, cols) end
    return pad and (t .. string.rep(" ", cols - #t)) or t
  end,
  wrap = function(t, cols)
    local out, line = {}, ""
    for word in t:gmatch("%S+") do
      if line ~= "" and #line + 1 + #word > cols then out[#out + 1] = line line = word
      else line = line == "" and word or (line .. " " .. word) end
    end
    out[#out + 1] = line
    return out
  end,
}
local env = setmetatable({ pl = pl }, { __index = _G })
for _, f in ipairs({ "init.lua", "columns.lua", "render.lua", "who.lua", "chat.lua", "commands/basic.lua", "commands/private.lua", "commands/rooms.lua" }) do
  local chunk = assert(loadfile("lua/" .. f, "t", env))
  loading = f
  chunk()
  loading = nil
end

local function session(fields)
  local s = setmetatable(fields or {}, { __index = pl.Session })
  return s
end

local passed, failed = 0, 0
local function test(name, fn)
  sent = {}
  local ok, err = pcall(fn)
  if ok then passed = passed + 1 print("ok   " .. name)
  else failed = failed + 1 print("FAIL " .. name .. ": " .. tostring(err)) end
end
local function eq(a, b, what)
  if a ~= b then error((what or "value") .. ": expected " .. tostring(b) .. ", got " .. tostring(a), 2) end
end
local function strip(s) return (s:gsub("\27%[[%d;]*m", "")) end

test("parse_command splits name and arguments", function()
  local n, r = pl.parse_command("/msg Bob  hi there  ")
  eq(n, "msg", "name") eq(r, "Bob  hi there", "rest, trimmed")
  n, r = pl.parse_command("/WHO")
  eq(n, "who", "lowercased") eq(r, "", "no args")
  eq(pl.parse_command("not a command"), nil, "plain line")
  eq(pl.parse_command("/"), nil, "slash alone")
end)

test("split_first takes the first word", function()
  local a, b = pl.split_first("bob  hello  world")
  eq(a, "bob") eq(b, "hello  world")
  a, b = pl.split_first("")
  eq(a, nil) eq(b, "")
end)

test("unknown commands, aliases and sysop-only commands", function()
  local s = session({ handle = "al", sysop = false })
  eq(pl.run_command(s, "/nope"), false, "unknown")
  assert(strip(sent[1].ev.text):match("Unknown command /nope"))
  eq(pl.run_command(s, "/reload"), false, "sysop only")
  eq(pl.commands.emote.name, "me", "alias resolves to /me")
  eq(pl.commands.emote.alias_of, "me", "alias marked")
end)

test("commands check their arguments", function()
  local s = session({ handle = "al", room = "lobby" })
  pl.run_command(s, "/msg onlyhandle")
  assert(strip(sent[1].ev.text):match("Usage: /msg <handle> <text>"), sent[1].ev.text)
  sent = {}
  pl.run_command(s, "/me")
  assert(strip(sent[1].ev.text):match("Usage: /me"))
end)

test("/me publishes an action to the room", function()
  local s = session({ handle = "al", room = "lobby" })
  pl.run_command(s, "/me waves")
  eq(sent[1].room, "lobby") eq(sent[1].ev.kind, "action") eq(sent[1].ev.body, "waves")
  eq(strip(sent[1].ev.text), "* al waves")
end)

test("/help is generated from the registry and hides sysop commands", function()
  local s = session({ handle = "al" })
  pl.run_command(s, "/help")
  local text = strip(sent[1].ev.text)
  for name in pairs(pl.commands) do
    local cmd = pl.commands[name]
    if not cmd.alias_of and not cmd.sysop then assert(text:find("/" .. name, 1, true), "lists /" .. name) end
  end
  assert(not text:find("/reload", 1, true), "no /reload for users")
end)

test("chat events render per viewer", function()
  local from = session({ handle = "al" })
  local ev = pl.chat_event("direct", { from = "al", to = "bo", body = "psst" }, from)
  eq(strip(ev.text), "-> *bo* psst", "sender view")
  ev = pl.chat_event("direct", { from = "al", to = "bo", body = "psst" }, session({ handle = "bo" }))
  eq(strip(ev.text), "*al* psst", "recipient view")
  eq(strip(pl.chat_event("leave", { from = "al", room = "x", reason = "disconnected" }).text), "*** al has left #x (disconnected)")
end)

test("who lists only logged-in sessions", function()
  sessions = { session({ handle = "al", node = 1, activity = "In Chat", room = "lobby", idle = 75 }), session({ node = 2, idle = 0 }) }
  local w = pl.who_event()
  eq(#w.users, 1, "one user") eq(w.users[1].handle, "al")
  assert(strip(w.text):match("al%s+In Chat%s+#lobby%s+1m"), w.text)
end)

test("colours wrap text in SGR codes and reject unknown names", function()
  eq(pl.color("red", "x"), "\27[31mx\27[0m")
  assert(not pcall(pl.color, "no-such-colour", "x"))
end)

test("pl.cut counts characters and never cuts inside one", function()
  local function valid(s) return utf8.len(s) ~= nil end
  eq(select(2, pl.cut("short", 40)), false, "nothing to cut")
  local t, cut = pl.cut(string.rep("a", 39) .. "\u{e9}xyz", 40)
  eq(t, string.rep("a", 39) .. "\u{e9}", "40 characters, the last of two bytes") eq(cut, true, "cut")
  t = pl.cut(string.rep("a", 39) .. "\u{e9}", 40)
  eq(t, string.rep("a", 39) .. "\u{e9}", "exactly 40 characters is not cut")
  for _, ch in ipairs({ "\u{e9}", "\u{20ac}", "\u{1f600}" }) do
    for max = 0, 6 do
      local s = pl.cut(string.rep(ch, 5), max)
      assert(valid(s), "valid UTF-8 after a cut at " .. max)
      eq(utf8.len(s), math.min(max, 5), "characters kept of " .. ch)
    end
  end
  assert(valid(pl.cut("\u{1f600}x", 1)) and pl.cut("\u{1f600}x", 1) == "\u{1f600}", "a four-byte character is whole")
end)

test("a command, alias, service or menu key taken twice is refused, naming both files", function()
  loading = "commands/dup.lua"
  local ok, err = pcall(pl.command, { name = "me", run = function() end })
  assert(not ok and err:find("command /me is registered twice: in commands/basic.lua and in commands/dup.lua", 1, true), err)
  ok, err = pcall(pl.command, { name = "wave", aliases = { "emote" }, run = function() end })
  assert(not ok and err:find("command /emote is registered twice: in commands/basic.lua and in commands/dup.lua", 1, true), err)
  eq(pl.commands.wave, nil, "a refused command is not registered")
  ok, err = pcall(pl.service, { id = "chat" })
  assert(not ok and err:find("service chat is registered twice: in chat.lua and in commands/dup.lua", 1, true), err)
  pl.menu_item{ key = "z", label = "Zed", run = function() end }
  loading = "zz_other.lua"
  ok, err = pcall(pl.menu_item, { key = "Z", label = "Zed again", run = function() end })
  assert(not ok and err:find("menu key Z is registered twice: in commands/dup.lua and in zz_other.lua", 1, true), err)
  loading = nil
end)

test("colour specs: backgrounds, the 256 colours, styles; s:color suits the terminal", function()
  eq(pl.color("bright_white on_blue bold", "x"), "\27[97;44;1mx\27[0m", "names")
  eq(pl.color("208 on_236", "x"), "\27[38;5;208;48;5;236mx\27[0m", "palette")
  assert(not pcall(pl.color, "on_chartreuse", "x"), "an unknown background is refused")
  assert(not pcall(pl.color, "256", "x"), "past the palette is refused")
  eq(session({ terminal = { colors = 16 } }):color("196 on_21", "x"), "\27[91;44mx\27[0m", "nearest of 16")
  eq(session({ terminal = { colors = 0 } }):color("196", "x"), "x", "none on a dumb terminal")
  eq(session({ terminal = { colors = 256 } }):color("196", "x"), "\27[38;5;196mx\27[0m", "all on 256")
end)

test("pl.escape makes a pattern match the text itself", function()
  for _, text in ipairs({ "a-a-a-b", "(x", "50%", "[a].*+?^$" }) do
    local i, j = ("say " .. text .. " now"):find(pl.escape(text))
    eq(i, 5, text) eq(j, 4 + #text, text)
  end
end)

test("a message hook that fails is passed over and reported; the others still run", function()
  pl.message_hooks = {}
  pl.faults = {}
  pl.message_hook("10-broken", function() error("broken hook") end)
  pl.message_hook("20-upper", function(_, msg) return { body = msg.body:upper() } end)
  local s = session({ handle = "alice", node = 1 })
  eq(pl.check_message(s, { kind = "say", body = "hello", room = "lobby" }), "HELLO", "the line goes out")
  eq(#pl.faults, 1, "one fault reported")
  assert(tostring(pl.faults[1]):find("broken hook", 1, true), pl.faults[1])
  pl.message_hooks = {}
end)

print(passed .. " passed, " .. failed .. " failed")
os.exit(failed == 0 and 0 or 1)
