-- init.lua: the framework the other scripts build on. Loaded first; every
-- other .lua file under lua/ is loaded after it in path order. The core calls
-- the functions in pl.hooks, which emit the events feature files listen to
-- (pl.on); everything a user sees is decided here and in the files beside
-- it. See README.md in this folder for the whole API.

pl.commands = {}    -- chat commands by name: see pl.command
pl.services = {}    -- services by id: see pl.service
pl.menu_items = {}  -- main menu entries: see pl.menu_item
pl.render = {}      -- chat event kind -> function(ev, viewer) returning text

------------------------------------------------------------------ colours

-- A colour spec is words: a colour for the text (red, bright_cyan, gray,
-- or 0-255 from the 256-colour palette), "on_" and a colour for the
-- background (on_blue, on_236), and styles (bold, dim, italic, underline,
-- blink, reverse). pl.color("bright_white on_blue bold", text).
local STYLE = { reset = 0, bold = 1, dim = 2, italic = 3, underline = 4, blink = 5, reverse = 7 }
local BASE = { black = 0, red = 1, green = 2, yellow = 3, blue = 4, magenta = 5, cyan = 6, white = 7 }

-- One word: its SGR code (a number, or "38;5;N" for the palette), or nil.
local function sgr_word(word)
  local bg = word:match("^on_(.+)$")
  local w = bg or word
  if STYLE[w] and not bg then return STYLE[w] end
  if w == "gray" or w == "grey" then return bg and 100 or 90 end
  if BASE[w] then return (bg and 40 or 30) + BASE[w] end
  local bright = w:match("^bright_(%a+)$")
  if bright and BASE[bright] then return (bg and 100 or 90) + BASE[bright] end
  local n = w:match("^%d+$") and tonumber(w)
  if n and n <= 255 then return (bg and "48;5;" or "38;5;") .. n end
  return nil
end

local specs = {} -- spec -> its codes, parsed once

local function codes(spec, level)
  local c = specs[spec]
  if c then return c end
  c = {}
  for word in tostring(spec):gmatch("%S+") do
    c[#c + 1] = sgr_word(word) or error("unknown colour '" .. word .. "'", level + 1)
  end
  specs[spec] = c
  return c
end

-- Wraps text in ANSI colour. Telnet users without colour and the web
-- client both understand it; user text never carries escapes (the core
-- strips them from every input line).
function pl.color(spec, text)
  return "\27[" .. table.concat(codes(spec, 2), ";") .. "m" .. text .. "\27[0m"
end

-- The 16 colours' usual RGB, to show a palette colour on a terminal of 16.
local RGB16 = { {0,0,0}, {205,0,0}, {0,205,0}, {205,205,0}, {0,0,238}, {205,0,205}, {0,205,205}, {229,229,229},
  {127,127,127}, {255,0,0}, {0,255,0}, {255,255,0}, {92,92,255}, {255,0,255}, {0,255,255}, {255,255,255} }

local function rgb256(n)
  if n < 16 then return RGB16[n + 1] end
  if n >= 232 then local v = 8 + (n - 232) * 10 return { v, v, v } end
  n = n - 16
  local function level(i) return i == 0 and 0 or 55 + i * 40 end
  return { level(n // 36), level(n // 6 % 6), level(n % 6) }
end

local function nearest16(n)
  local want, best, dist = rgb256(n), 0, math.huge
  for i, c in ipairs(RGB16) do
    local d = (c[1] - want[1]) ^ 2 + (c[2] - want[2]) ^ 2 + (c[3] - want[3]) ^ 2
    if d < dist then best, dist = i - 1, d end
  end
  return best
end

-- pl.color for one user's terminal (s.terminal.colors): plain text where
-- it shows no colour, palette colours as the nearest of 16 where it has 16.
function pl.Session.color(s, spec, text)
  local term = s.terminal
  local depth = term and term.colors or 16
  if depth == 0 then return text end
  local c = codes(spec, 2)
  if depth < 256 then
    local mapped = {}
    for i, code in ipairs(c) do
      local bg, n = tostring(code):match("^([34])8;5;(%d+)$")
      if n then
        local k = nearest16(tonumber(n))
        code = (bg == "4" and 40 or 30) + k % 8 + (k >= 8 and 60 or 0)
      end
      mapped[i] = code
    end
    c = mapped
  end
  return "\27[" .. table.concat(c, ";") .. "m" .. text .. "\27[0m"
end

------------------------------------------------------------------ registries

-- Which file is registering: the one loading now (pl.loading_file), for
-- refusing a name another file took. Registering after load is allowed.
local function registrar() return pl.loading_file() or "a script running after load" end

-- A name taken twice is refused with both files named: the load fails, so
-- the reload does, and the scripts that were running stay (a later file no
-- longer silently wins).
local function refuse_twice(what, old, file)
  error(what .. " is registered twice: in " .. (old.file or "?") .. " and in " .. file, 3)
end

-- Whether s may use something kept for `level` and up: the account's
-- access level (0-255, /level sets it) reaches it, or s is a sysop. A nil
-- level is everyone's.
function pl.allowed(s, level)
  return level == nil or s.sysop or (s.level or 0) >= level
end

-- pl.command{ name = "me", args = "<action>", help = "...", run = function(s, args) end,
--             aliases = {"emote"}, sysop = false, level = nil }
function pl.command(def)
  assert(type(def.name) == "string" and def.name:match("^[%w_-]+$"), "command needs a name of letters and digits")
  assert(type(def.run) == "function", "command /" .. def.name .. " needs a run function")
  def.name = def.name:lower()
  def.args = def.args or ""
  def.help = def.help or ""
  def.file = registrar()
  local names = { def.name }
  for _, alias in ipairs(def.aliases or {}) do names[#names + 1] = alias:lower() end
  for i, name in ipairs(names) do
    local old = pl.commands[name]
    if old then refuse_twice("command /" .. name, old, def.file) end
    for j = 1, i - 1 do
      if names[j] == name then refuse_twice("command /" .. name, def, def.file) end
    end
  end
  pl.commands[def.name] = def
  for i = 2, #names do
    pl.commands[names[i]] = setmetatable({ alias_of = def.name }, { __index = def })
  end
  return def
end

-- pl.service{ id = "chat", activity = "In Chat", enter = fn(s), input = fn(s, line),
--             leave = fn(s, why), login_failed = fn(s, code) }
function pl.service(def)
  assert(type(def.id) == "string", "service needs an id")
  def.file = registrar()
  local old = pl.services[def.id]
  if old then refuse_twice("service " .. def.id, old, def.file) end
  pl.services[def.id] = def
  return def
end

-- pl.menu_item{ key = "C", label = "Chat", order = 10, service = "chat", level = nil }
-- or with run = function(s) ... end instead of service. Users below level
-- (pl.allowed) neither see nor choose it.
function pl.menu_item(def)
  assert(type(def.key) == "string" and #def.key == 1, "menu item needs a one-letter key")
  def.key = def.key:upper()
  def.order = def.order or 50
  def.file = registrar()
  for _, item in ipairs(pl.menu_items) do
    if item.key == def.key then refuse_twice("menu key " .. def.key, item, def.file) end
  end
  pl.menu_items[#pl.menu_items + 1] = def
  table.sort(pl.menu_items, function(a, b) return a.order < b.order end)
  return def
end

------------------------------------------------------------------ sessions

local S = pl.Session

-- Sends an event to the session. While a page of long output waits for its
-- "-- More --" (pl.page), what else the scripts send the user waits behind
-- it, in order, so the next screen is not cut into.
function S.send(self, ev)
  local p = self.pager
  if p and #p.queue < 500 then
    p.queue[#p.queue + 1] = ev
    return true
  end
  return pl.send(self, ev)
end

function S:text(text) self:send{ type = "text", text = text } end
-- A prompt takes a line: single keys a menu turned on (s:menu) go off for it.
function S:prompt(text, secret)
  if self.menu_keys then
    self.menu_keys = nil
    local svc = pl.services[self.service]
    self:keys(svc and svc.keys)
  end
  self:send{ type = "prompt", text = text, secret = secret and true or false }
end
function S:bell() self:send{ type = "bell" } end
-- A short message about something the user did wrong.
function S:notice(text) self:send{ type = "text", text = pl.color("yellow", text) } end

-- Shows a menu: a `menu` event whose text is the header lines and one line
-- per item ("[K] label"), then the choice prompt. items: { {key, label}, ... }
-- A key alone chooses (hotkeys: single keys until the next prompt or
-- service), unless opts.lines: then a line does (a menu that also takes
-- numbers or words, as the mail inbox).
function S:menu(id, title, header, items, opts)
  local lines = {}
  for _, l in ipairs(header) do lines[#lines + 1] = l end
  local plain = {}
  for _, it in ipairs(items) do
    plain[#plain + 1] = { key = it.key, label = it.label }
    lines[#lines + 1] = " " .. pl.color("bright_yellow", "[" .. it.key .. "]") .. " " .. it.label
  end
  self:send{ type = "menu", id = id, title = title, items = plain, text = table.concat(lines, "\n") }
  self:prompt("Your choice: ")
  local on = self.pager and self.pager.keys or (not self.pager and self.keys_on)
  if not (opts and opts.lines) and not on then
    self:keys(true)
    self.menu_keys = true
  end
end

-- Moves the session to another service, leaving the one it is in.
function S:enter(id, ...)
  local svc = pl.services[id] or error("no service '" .. tostring(id) .. "'", 2)
  local old = pl.services[self.service]
  if old and old.leave then old.leave(self, "switch") end
  self.service = id
  self.activity = svc.activity or id
  self.menu_keys = nil
  self:keys(svc.keys) -- a service with keys = true gets single keys
  if svc.enter then svc.enter(self, ...) end
end

------------------------------------------------------------------ keys and pages

-- s:keys(on): single keys instead of lines. The service's input then gets
-- each key as it is pressed: the character ("a", "7", "é"), "" for Enter,
-- or the key's name: backspace, tab, escape, up, down, left, right, home,
-- end, insert, delete, pageup, pagedown. A telnet terminal switches at once
-- (the server is already in character mode); the web page sends keys
-- while it is on. s.keys_on says which it is.
function S:keys(on)
  on = on and true or false
  local p = self.pager
  if p then -- the "-- More --" has keys on: what is asked for now holds once it is done
    p.keys = on
    return
  end
  if (self.keys_on or false) == on then return end
  self.keys_on = on
  pl.send(self, { type = "input_mode", mode = on and "key" or "line" })
end

local MORE = "-- More -- (any key: next page, Enter: one line, Q: stop) "

local function pager_end(s)
  local p = s.pager
  s.pager = nil
  pl.send(s, { type = "prompt", text = "" }) -- the More prompt is gone
  s:keys(p.keys)
  for _, ev in ipairs(p.queue) do pl.send(s, ev) end
end

-- Sends what waits, from p.at, as far as rows rows go (at least one item:
-- a line of text, or an event of pl.page's array). Text goes out as one
-- event (the first screen's in the event pl.page was given).
local function pager_show(s, rows)
  local p = s.pager
  local batch, used = {}, 0
  while p.at <= #p.items do
    local it = p.items[p.at]
    if #batch > 0 and used + it.h > rows then break end
    batch[#batch + 1] = it.v
    used = used + it.h
    p.at = p.at + 1
  end
  if p.text then
    local ev = p.first or { type = "text" }
    p.first = nil
    ev.text = table.concat(batch, "\n")
    return pl.send(s, ev)
  end
  for _, ev in ipairs(batch) do pl.send(s, ev) end
end

-- A key (or line) while a page waits: Q stops, Enter shows one more line,
-- anything else the next screen.
local function pager_input(s, line)
  local p = s.pager
  if line:lower() == "q" then return pager_end(s) end
  pager_show(s, line == "" and 1 or p.rows - 1)
  if p.at <= #p.items then return pl.send(s, { type = "prompt", text = MORE }) end
  pager_end(s)
end

-- Rows a text takes on a terminal cols wide, as it wraps.
local function rows_of(text, cols)
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\n") do n = n + #pl.text.wrap(line, cols) end
  return n
end

-- pl.page(s, text[, ev]): long output a screen at a time on a terminal
-- (telnet or SSH, by its rows and columns, lines as it wraps them), with
-- "-- More --" between screens; elsewhere (the web page scrolls) all at
-- once. ev is the event the text goes in (a `who` event with its data; a
-- `text` event when nil): the first screen goes in it, the rest as text.
-- pl.page(s, events) with an array of events (room history, each a chat
-- event with its text) pages them the same way, each event whole.
function pl.page(s, text, ev)
  local term = s.terminal
  local rows = term and term.transport ~= "websocket" and term.rows
  local events = type(text) == "table"
  if not rows or rows < 4 or s.pager then
    if events then
      for _, e in ipairs(text) do s:send(e) end
      return
    end
    ev = ev or { type = "text" }
    ev.text = text
    return s:send(ev)
  end
  local cols, items, total = term.cols or 80, {}, 0
  if events then
    for _, e in ipairs(text) do
      items[#items + 1] = { v = e, h = e.text and e.text ~= "" and rows_of(e.text, cols) or 0 }
      total = total + items[#items].h
    end
  else
    for line in (text .. "\n"):gmatch("(.-)\n") do
      items[#items + 1] = { v = line, h = math.max(1, #pl.text.wrap(line, cols)) }
      total = total + items[#items].h
    end
  end
  local p = { items = items, at = 1, rows = rows, text = not events, first = ev or { type = "text" }, queue = {} }
  if total <= rows - 1 then -- one screen: no More
    s.pager = p
    pager_show(s, math.huge)
    s.pager = nil
    return
  end
  local was = s.keys_on or false
  s:keys(true)
  p.keys = was
  s.pager = p
  pager_show(s, rows - 1)
  pl.send(s, { type = "prompt", text = MORE })
end

-- s:time(ms[, fmt]): a time (milliseconds) as this user reads it, in the
-- time zone of their profile (s.tz), else the board's. fmt as os.date's
-- (strftime), default "2026-12-04 19:53 CET".
function S:time(ms, fmt)
  local ok, text = pcall(pl.format_time, ms, fmt, self.tz)
  if ok then return text end
  return pl.format_time(ms, fmt) -- a zone the system no longer knows: the board's
end

-- The time now as the protocol writes it (ISO 8601 UTC, milliseconds).
function pl.iso_time()
  local ms = pl.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", ms // 1000) .. string.format(".%03dZ", ms % 1000)
end

-- text cut to at most max characters, and whether anything was cut. Cuts
-- fall between characters, never inside one: string.sub counts bytes, and
-- half of a multi-byte UTF-8 character is invalid text that browsers refuse
-- (they drop the connection). Limits on what users type are in characters.
function pl.cut(text, max)
  if #text <= max then return text, false end -- no more bytes, so no more characters
  local n = 0
  for pos in text:gmatch("()[^\128-\191]") do -- where each character starts
    n = n + 1
    if n > max then return text:sub(1, pos - 1), true end
  end
  return text, false
end

-- text with every character that means something in a Lua pattern
-- escaped, to find it as it is: text:find(pl.escape(word)). Never paste
-- what a user typed into a pattern unescaped: "(" is an error, and "a-a-a-"
-- makes the match try every way there is.
function pl.escape(text)
  return (text:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

------------------------------------------------------------------ message hooks

-- pl.message_hook(name, fn): fn(s, msg) sees every public line and private
-- message before it goes out. msg has kind ("say", "action", "direct"),
-- body, room or to. fn may return nil (pass), or a table with any of:
--   reject = "text"  the message is dropped and the sender told "text"
--   body = "..."     the message goes out with this body instead
--   notice = "text"  the message goes out, and the sender also gets "text"
-- Hooks run in name order; a rejection stops the rest.
pl.message_hooks = {}

function pl.message_hook(name, fn)
  assert(type(fn) == "function", "message hook needs a function")
  pl.message_hooks[name] = fn
end

-- Runs the hooks; returns the body to send, or nil when it was rejected.
-- Each hook runs on its own (pl.call): one that fails is passed over for
-- this message, which goes on to the next hook and out; the fault is its
-- own (pl.fault), and a hook that keeps failing is put out of service
-- until its file is reloaded. Chat never stops for a broken hook.
local hooks_out = {} -- name -> true: out of service in this load of the scripts

function pl.check_message(s, msg)
  local names = {}
  for name in pairs(pl.message_hooks) do
    if not hooks_out[name] then names[#names + 1] = name end
  end
  table.sort(names)
  local notices = {}
  for _, name in ipairs(names) do
    local fn = pl.message_hooks[name]
    local ok, verdict = pl.call(fn, s, { kind = msg.kind, body = msg.body, room = msg.room, to = msg.to })
    if not ok then
      if pl.fault(verdict, fn, s, "message hook '" .. name .. "'") then hooks_out[name] = true end
    elseif type(verdict) == "table" then
      if verdict.reject then
        s:notice(tostring(verdict.reject))
        return nil
      end
      if type(verdict.body) == "string" then msg.body = verdict.body end
      if verdict.notice then notices[#notices + 1] = tostring(verdict.notice) end
    end
  end
  for _, text in ipairs(notices) do s:text(text) end
  return msg.body
end

------------------------------------------------------------------ chat events

-- Builds a chat event and renders its text for one viewer (nil = everyone).
function pl.chat_event(kind, fields, viewer)
  local ev = { type = "chat", kind = kind }
  for k, v in pairs(fields or {}) do ev[k] = v end
  local render = pl.render[kind]
  ev.text = render and render(ev, viewer) or (ev.body or "")
  return ev
end

------------------------------------------------------------------ faults

function pl.tell_sysops(text)
  for _, s in ipairs(pl.sessions()) do
    if s.sysop then s:send(pl.chat_event("system", { body = text })) end
  end
end

-- What the sysops online are told of script faults, as they happen: the
-- first failure of each function at once (file, line and message), at most
-- NOTICES_PER_MINUTE such notices a minute (the rest are counted and said
-- with the next one), and always when something is put out of service,
-- with why. Everything is in the log regardless.
local NOTICES_PER_MINUTE = 5
local told, sent, held = {}, {}, 0

local function notice_allowed()
  local now, recent = pl.now(), {}
  for _, t in ipairs(sent) do
    if now - t < 60000 then recent[#recent + 1] = t end
  end
  sent = recent
  if #sent >= NOTICES_PER_MINUTE then return false end
  sent[#sent + 1] = now
  return true
end

pl.on("fault", function(file, line, message, s, info)
  local what = info.what:gsub("^%l", string.upper)
  local where = line and (file .. ":" .. line) or file
  if info.disabled then
    return pl.tell_sysops(what .. " failed " .. info.count .. " times within a minute and is disabled until its file is reloaded" ..
      " (" .. (info.func or where) .. "). The last error: " .. message)
  end
  local key = info.func or where
  if told[key] then return end
  if not notice_allowed() then
    held = held + 1
    return
  end
  told[key] = true
  local more = held > 0 and (" (and " .. held .. " more script " .. (held == 1 and "error" or "errors") .. " in the log)") or ""
  held = 0
  pl.tell_sysops("Script error in " .. info.what .. (s and s.handle and (", for " .. s.handle) or "") .. ": " .. message .. more)
end)

-- A command or service out of service. Whoever is in a service when it is
-- put out goes to the main menu at once, told why: a line they type next
-- is never read by a service they did not choose.
local function put_out(def)
  def.disabled = true
  if not def.id then return end
  for _, u in ipairs(pl.sessions()) do
    if u.service == def.id and not u.leaving then
      u.service = nil -- its leave may be what fails: nothing of it runs
      u:notice("This part of the system is out of order for now; the sysop has been told. You are back at the main menu.")
      u.moved_ms = pl.now() -- menu.lua: a line already on its way is no choice
      u:enter("menu")
    end
  end
end

local SCRIPT_ERROR = "a script failed; the sysop can see what went wrong"

-- Runs fn(...) for def (a command or a service) with a budget of its own
-- (pl.call). A failure is def's fault alone (pl.fault: logged, counted,
-- the sysops told), the user gets an error, and what called it carries
-- on. When it has failed too often, def is put out of service until its
-- file is reloaded. Returns whether it ran cleanly. A failure of storage
-- is nobody's: it is raised, and the user hears "try again later".
function pl.guarded(def, what, s, fn, ...)
  local ok, err = pl.call(fn, ...)
  if ok then return true end
  if pl.db.unavailable(err) then error(err, 0) end
  local out = pl.fault(err, fn, s, what)
  if s and not s.ended then s:send{ type = "error", code = "script_error", message = SCRIPT_ERROR, text = SCRIPT_ERROR } end
  if out then put_out(def) end
  return false
end

-- Runs fn(...) for something a user can do without: when storage fails
-- (pl.db.unavailable) it is logged and skipped, and pl.try returns false;
-- any other error is raised as usual.
function pl.try(what, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return true end
  if not pl.db.unavailable(err) then error(err, 0) end
  pl.log(what .. " skipped: " .. tostring(err), "script_storage")
  return false
end

------------------------------------------------------------------ small state

-- pl.kv: values kept without SQL, across restarts, in the table s_kv.
-- pl.kv.board is the board's store, pl.kv.user(who) a user's (a session or
-- a handle, any case). Each has :get(key[, default]), :set(key, value)
-- (nil removes), :incr(key[, by]) and :keys([prefix]). Values are what
-- JSON holds: strings, numbers, booleans, tables of them (arrays, or string
-- keys), at most 64 KiB each; keys at most 200 bytes. Writes raise when
-- storage is unavailable (pl.db.unavailable), like pl.db.exec.
pl.db.exec([[CREATE TABLE IF NOT EXISTS s_kv (
  scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key))]])

local KV_KEY_MAX, KV_VALUE_MAX = 200, 65536

local function kv_store(scope)
  local store = {}
  local function check(key)
    if type(key) ~= "string" or key == "" or #key > KV_KEY_MAX then
      error("pl.kv: a key is a string of 1-" .. KV_KEY_MAX .. " bytes", 3)
    end
  end
  function store.get(_, key, default)
    check(key)
    local row = pl.db.query("SELECT value FROM s_kv WHERE scope = ? AND key = ?", scope, key)[1]
    if not row then return default end
    return pl.json.decode(row.value)
  end
  function store.set(_, key, value)
    check(key)
    if value == nil then
      pl.db.exec("DELETE FROM s_kv WHERE scope = ? AND key = ?", scope, key)
      return
    end
    local t = type(value)
    if t ~= "string" and t ~= "number" and t ~= "boolean" and t ~= "table" then
      error("pl.kv: cannot keep a " .. t, 2)
    end
    local text = pl.json.encode(value)
    if #text > KV_VALUE_MAX then error("pl.kv: a value is at most " .. KV_VALUE_MAX .. " bytes as JSON", 2) end
    pl.db.exec("INSERT INTO s_kv (scope, key, value) VALUES (?, ?, ?) ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value",
      scope, key, text)
  end
  function store.incr(self, key, by)
    by = by or 1
    if math.type(by) == "integer" then
      -- one statement: nothing can come between its read and its write (on
      -- PostgreSQL another hook may run while one waits, and other
      -- processes share the table)
      check(key)
      local row = pl.db.query([[INSERT INTO s_kv (scope, key, value) VALUES (?, ?, ?) ON CONFLICT(scope, key)
        DO UPDATE SET value = CAST(CAST(s_kv.value AS INTEGER) + ? AS TEXT) RETURNING value]], scope, key, tostring(by), by)[1]
      return pl.json.decode(row.value)
    end
    local n = (tonumber(self:get(key, 0)) or 0) + by
    self:set(key, n)
    return n
  end
  function store.keys(_, prefix)
    prefix = prefix or ""
    local out = {}
    for _, r in ipairs(pl.db.query("SELECT key FROM s_kv WHERE scope = ? AND substr(key, 1, ?) = ? ORDER BY key",
      scope, #prefix, prefix)) do out[#out + 1] = r.key end
    return out
  end
  return store
end

pl.kv = { board = kv_store("board") }

function pl.kv.user(who)
  local handle = type(who) == "table" and who.handle or who
  if type(handle) ~= "string" or handle == "" then error("pl.kv.user: a session or a handle", 2) end
  return kv_store("user:" .. handle:lower())
end

------------------------------------------------------------------ commands

-- "/msg bob hi there" -> "msg", "bob hi there"; nil when not a command.
function pl.parse_command(line)
  local name, rest = line:match("^/(%S+)%s*(.-)%s*$")
  if not name then return nil end
  return name:lower(), rest
end

-- "bob hi there" -> "bob", "hi there"
function pl.split_first(text)
  local first, rest = (text or ""):match("^(%S+)%s*(.-)$")
  return first, rest or ""
end

function pl.usage(s, cmd)
  s:notice("Usage: /" .. cmd.name .. (cmd.args ~= "" and (" " .. cmd.args) or ""))
end

function pl.run_command(s, line)
  local name, rest = pl.parse_command(line)
  local cmd = name and pl.commands[name]
  if not cmd or (cmd.sysop and not s.sysop) or not pl.allowed(s, cmd.level) then
    s:notice("Unknown command /" .. (name or "") .. ". Type /help for the list.")
    return false
  end
  local def = cmd.alias_of and pl.commands[cmd.alias_of] or cmd
  if def.disabled then
    s:notice("/" .. def.name .. " is out of order for now; the sysop has been told.")
    return false
  end
  pl.guarded(def, "command /" .. def.name, s, def.run, s, rest, cmd)
  return true
end

------------------------------------------------------------------ events

-- Feature files listen with pl.on(event, fn) (README.md, "Events"); the
-- hooks below, which the core calls, emit admit, register, login, logoff
-- and reload; chat.lua emits join, leave and line; the core emits fault.

-- The scripts' own record of logins. The core's account keeps only the
-- latest login (already this one when the auth hook runs), so the previous
-- one, and whether this is an account's first, come from here. The row with
-- the empty key says since when logins are recorded: an account made before
-- then has no row either, without being new.
pl.db.exec([[CREATE TABLE IF NOT EXISTS s_logins (
  handle_key TEXT PRIMARY KEY,
  last_login TEXT NOT NULL,
  logins INTEGER NOT NULL)]])
pl.db.defer("INSERT INTO s_logins (handle_key, last_login, logins) VALUES ('', ?, 0) ON CONFLICT DO NOTHING",
  os.date("!%Y-%m-%dT%H:%M:%SZ", pl.now() // 1000))

-- What the login event says about s logging in now: { first = bool,
-- previous = ms or nil, logins = this account's logins, this one
-- included }. Records this login. With storage away it knows less (first =
-- false, no previous), and the user still gets in.
local function login_info(s)
  local info, key = { first = false, logins = 1 }, s.handle:lower()
  pl.try("reading the login record", function()
    local since, row
    for _, r in ipairs(pl.db.query("SELECT handle_key, last_login, logins FROM s_logins WHERE handle_key IN ('', ?)", key)) do
      if r.handle_key == "" then since = r.last_login else row = r end
    end
    if row then
      info.previous = pl.parse_time(row.last_login)
      info.logins = row.logins + 1
    else
      local acct = pl.account(s.handle)
      info.first = acct ~= nil and since ~= nil and acct.created >= since
    end
  end)
  pl.db.defer([[INSERT INTO s_logins (handle_key, last_login, logins) VALUES (?, ?, 1)
    ON CONFLICT(handle_key) DO UPDATE SET last_login = excluded.last_login, logins = s_logins.logins + 1]], key, pl.iso_time())
  return info
end


------------------------------------------------------------------ hooks

local function current(s) return pl.services[s.service] end

-- Banned addresses never get here: the core refuses them at accept (bans.lua).
-- how: "register" for an SSH user who logged in as `new`.
function pl.hooks.connect(s, how)
  s:enter("login", how)
end

-- login and menu are the way in and the way around: never switched off
local ESSENTIAL = { login = true, menu = true }

function pl.hooks.input(s, line)
  if s.pager then return pager_input(s, line) end
  local svc = current(s)
  if not svc then return pl.hooks.recover(s, "input") end -- its service is gone: somewhere sane
  if not svc.input then return end
  if ESSENTIAL[svc.id] then return svc.input(s, line) end
  if svc.disabled then
    s.service = nil
    s:notice("This part of the system is out of order for now; the sysop has been told. You are back at the main menu.")
    s.moved_ms = pl.now()
    return s:enter("menu")
  end
  pl.guarded(svc, "service " .. svc.id, s, svc.input, s, line)
end

-- The core calls this after another hook for s failed (hook names it), in
-- a call of its own: s is put somewhere sane. Not logged in: the login
-- service's fresh prompt. Logged in but still at login (the welcome was
-- cut short): the main menu, or away if the gatekeepers never said yes.
-- Anywhere else: the service's own recover, if it has one (the menu shows
-- itself again). Also for a service that is gone (a file removed).
function pl.hooks.recover(s, hook)
  if s.leaving then return end
  local svc = current(s)
  if not s.handle then
    if svc and svc.id == "login" and svc.recover then return svc.recover(s, hook) end
    s.service = nil
    return s:enter("login")
  end
  if not svc or svc.id == "login" then
    s.service = nil
    if not s.admitted and not s.sysop then
      s:send{ type = "bye", reason = "unavailable", text = "The system cannot let you in right now. Please try again in a little while." }
      return pl.logoff(s)
    end
    s.admitted = true
    if svc == nil and hook ~= "auth" then
      s:notice("That part of the system is gone; you are back at the main menu.")
      s.moved_ms = pl.now()
    end
    return s:enter("menu")
  end
  if svc.recover then svc.recover(s, hook) end
end

-- Gatekeepers (bans.lua) listen to `admit` and send a user away with
-- pl.logoff (then s.leaving is true). One that fails could not decide, so
-- the door stays shut, except for sysops: they must be able to get in and
-- mend it. Then `login`; then the main menu, unless a listener took the
-- user somewhere else (a new users' questionnaire).
function pl.hooks.auth(s)
  s.admitted = nil
  if pl.emit("admit", s) > 0 and not s.leaving and not s.sysop then
    s:send{ type = "bye", reason = "unavailable", text = "The system cannot let you in right now. Please try again in a little while." }
    pl.logoff(s)
  end
  if s.leaving then return end
  s.admitted = true
  pl.try("reading the time zone", function() s.tz = pl.kv.user(s):get("tz") end)
  local moved = s.moved
  if moved then
    -- the client came back on this process of the board (the one it was on
    -- stopped, or it was sent here): the user goes on where they were
    s:text("Welcome back, " .. pl.color("bright_white", s.handle) .. ". You are on node " .. s.node .. ".")
    if moved.service == "chat" and moved.room then
      s.last_room = moved.room
      return s:enter("chat", { back = true })
    end
    return s:enter("menu")
  end
  local info = login_info(s)
  s:text("Welcome, " .. pl.color("bright_white", s.handle) .. "! You are on node " .. s.node .. "." ..
    (info.previous and (" Your last login was " .. s:time(info.previous) .. ".") or ""))
  local before = s.service -- login, or nil after a token
  pl.emit("login", s, info)
  if not s.leaving and s.service == before then s:enter("menu") end
end

-- A connection came back to a logged-in session (a reloaded page, a second
-- tab, a network drop): `attach` listeners send what a client that starts
-- afresh needs (web.lua: the page's mail panel and command list).
function pl.hooks.attach(s)
  pl.emit("attach", s)
end

-- The core asks before it makes an account, however it was asked for (the
-- prompts, or a `register` message): `register` listeners get (s, reg);
-- one refuses the handle by setting reg.refuse to the words the user reads.
-- A listener that fails could not decide: no account is made ("try again
-- later"). Returns true, the words of a refusal, or false.
function pl.hooks.register(s, handle)
  local reg = { handle = handle }
  if pl.emit("register", s, reg) > 0 then return false end
  if reg.refuse then
    s.refusal = tostring(reg.refuse)
    return s.refusal
  end
  return true
end

-- The users here, as opposed to those of the board's other processes.
local function local_users()
  local out = {}
  for _, s in ipairs(pl.sessions()) do
    if s.handle and not s.remote then out[#out + 1] = s end
  end
  return out
end

-- On a board of many processes: Redis went away (this process serves its
-- own users alone) or came back (the board is whole again).
pl.on("board", function(state)
  local text = state == "whole" and "The rest of the board is back: /who shows everyone again."
    or "The rest of the board is out of reach for now: you see and hear the users of this part only."
  for _, s in ipairs(local_users()) do s:send(pl.chat_event("system", { body = text })) end
end)

-- Lines from another process of the board were lost on the way.
pl.on("board_gap", function(n)
  for _, s in ipairs(local_users()) do
    s:send(pl.chat_event("system", { body = "Some lines from elsewhere on the board may not have reached you (" .. n .. " lost on the way)." }))
  end
end)

-- The core logs a user off because of something done to their account
-- elsewhere: "locked" or "password_reset" (the operator, with `partyline
-- user`), "password_changed" (the user, on another node).
local ACCOUNT_BYE = {
  locked = "Your account has been locked by the sysop. Goodbye.",
  password_reset = "The sysop has reset your password; log in again with the new one.",
  password_changed = "Your password was changed on another node; log in again with the new one.",
}

function pl.hooks.account_action(s, action)
  s:send{ type = "bye", reason = action, text = ACCOUNT_BYE[action] or ("Logged off (" .. action .. ").") }
  pl.logoff(s)
end

-- A terminal's window changed size (telnet NAWS): emits `resize` (s), for
-- what is laid out on the screen (a split chat) to be drawn again.
function pl.hooks.resize(s) pl.emit("resize", s) end

function pl.hooks.login_failed(s, code)
  local svc = current(s)
  if svc and svc.login_failed then svc.login_failed(s, code) end
end

function pl.hooks.session_end(s)
  local svc = current(s)
  if svc and svc.leave then svc.leave(s, "disconnect") end
  -- in a room without a service that took it there (a bot): the room hears it go
  if s.room and pl.chat then pl.chat.leave(s, s.bot and "gone" or "disconnected") end
  for _, w in ipairs(pl.watchers(s)) do
    w:send(pl.chat_event("system", { body = "Node " .. s.node .. " logged off; you are no longer watching it." }))
  end
  if s.handle then pl.emit("logoff", s) end
end

function pl.hooks.script_error(message)
  pl.tell_sysops("Script reload failed; the previous scripts keep running: " .. message)
end

-- After a reload, whoever is in a service the new scripts no longer have
-- (its file removed or renamed) goes to the main menu, told so.
function pl.hooks.reloaded()
  pl.tell_sysops("Scripts reloaded.")
  for _, s in ipairs(pl.sessions()) do
    if s.service and not pl.services[s.service] and not s.leaving then pl.hooks.recover(s, "reloaded") end
  end
  pl.emit("reload")
end

function pl.hooks.idle_warning(s, seconds)
  s:send(pl.chat_event("system", { body = "You have been idle a while; you will be logged off in " .. seconds .. " seconds unless you type something." }))
  s:bell()
end

function pl.hooks.idle_timeout(s)
  s:send{ type = "bye", reason = "idle", text = "Logged off for being idle. Call again soon!" }
end

-- Text for the notice a slow connection gets when it skipped room chatter.
function pl.hooks.missed(count)
  return pl.color("yellow", "*** You were too far behind: " .. count .. (count == 1 and " line" or " lines") .. " of room chatter skipped.")
end

-- This process is stopping (the board may go on in others): its own users
-- are told, each line encoded once for all of them (a send per user would
-- take too long at ten thousand); only those still at the login prompt are
-- told one by one.
function pl.hooks.shutdown()
  local notice = pl.chat_event("system", { body = "The server is shutting down. See you soon!" })
  local bye = { type = "bye", reason = "shutdown", text = "Disconnected: server shutdown." }
  pl.broadcast(notice, "here")
  pl.broadcast(bye, "here")
  for _, s in ipairs(pl.sessions()) do
    if not s.handle and not s.remote then
      s:send(notice)
      s:send(bye)
    end
  end
end
