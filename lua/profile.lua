-- profile.lua: a profile per user (real name, location, tagline), edited
-- from the main menu's Profile service, and /whois (or /finger) to read one
-- with online status, node and last seen. Kept in the database.
local c = pl.color

pl.db.exec([[CREATE TABLE IF NOT EXISTS s_profiles (
  handle_key TEXT PRIMARY KEY,
  handle TEXT NOT NULL,
  realname TEXT NOT NULL DEFAULT '',
  location TEXT NOT NULL DEFAULT '',
  tagline TEXT NOT NULL DEFAULT '',
  last_seen TEXT)]])

pl.profiles = {}

local FIELDS = { -- max: characters
  { key = "N", column = "realname", label = "Real name", max = 40 },
  { key = "L", column = "location", label = "Location", max = 40 },
  { key = "T", column = "tagline", label = "Tagline", max = 80 },
}

function pl.profiles.get(handle)
  return pl.db.query("SELECT * FROM s_profiles WHERE handle_key = ?", handle:lower())[1]
end

-- At login and logoff: keeps the row and "last seen".
function pl.profiles.seen(s)
  if not s.handle then return end
  -- kept and written later when storage is away (pl.db.defer)
  pl.db.defer([[INSERT INTO s_profiles (handle_key, handle, last_seen) VALUES (?, ?, ?)
    ON CONFLICT(handle_key) DO UPDATE SET handle = excluded.handle, last_seen = excluded.last_seen]],
    s.handle:lower(), s.handle, pl.iso_time())
end

pl.on("login", function(s) pl.profiles.seen(s) end)

-- The character set a user chose (kept per user, pl.kv) wins over what
-- their terminal says: "cp437", "utf-8", or "auto" (the terminal's).
local CHARSETS = { auto = "auto", ["utf-8"] = "utf-8", utf8 = "utf-8", cp437 = "cp437", ibm437 = "cp437" }
local function charset_name(s)
  local pick = pl.kv.user(s):get("charset") or "auto"
  return pick == "auto" and ("auto (" .. pl.charset(s):upper() .. " now)") or pick:upper()
end
function pl.profiles.set_charset(s, name)
  local pick = CHARSETS[(name or ""):lower()]
  if not pick then return false end
  pl.kv.user(s):set("charset", pick ~= "auto" and pick or nil)
  pl.charset(s, pick)
  return true
end
pl.on("login", function(s)
  pl.try("reading the character set", function()
    local pick = pl.kv.user(s):get("charset")
    if pick then pl.charset(s, pick) end
  end)
end)
pl.on("logoff", function(s) pl.profiles.seen(s) end)

local function show(s, p)
  local lines = { c("bright_white", "Profile of " .. p.handle) }
  for _, f in ipairs(FIELDS) do
    lines[#lines + 1] = string.format("  %-10s %s", f.label .. ":", p[f.column] ~= "" and p[f.column] or "-")
  end
  return lines
end

local function menu(s)
  local p = pl.profiles.get(s.handle) or { handle = s.handle, realname = "", location = "", tagline = "" }
  local lines = show(s, p)
  lines[#lines + 1] = string.format("  %-10s %s", "Time zone:", s.tz or ("the board's (" .. pl.format_time(nil, "%Z") .. ")"))
  lines[#lines + 1] = string.format("  %-10s %s", "Charset:", charset_name(s))
  local items = {}
  for _, f in ipairs(FIELDS) do items[#items + 1] = { key = f.key, label = "Change " .. f.label:lower() } end
  items[#items + 1] = { key = "Z", label = "Change time zone" }
  items[#items + 1] = { key = "S", label = "Change character set (CP437 for PC/ANSI terminals)" }
  items[#items + 1] = { key = "W", label = "Change password" }
  items[#items + 1] = { key = "Q", label = "Back to the main menu" }
  s:menu("profile", "Profile", lines, items)
end

pl.service{
  id = "profile",
  activity = "Editing profile",
  enter = function(s) s.editing = nil; menu(s) end,
  input = function(s, line)
    local pw = s.password_change
    if pw then
      if pw.step == "old" then
        pw.old, pw.step = line, "new"
        return s:prompt("New password (at least " .. (pl.config("password_min") or "8") .. " characters): ", true)
      elseif pw.step == "new" then
        pw.new, pw.step = line, "repeat"
        return s:prompt("Repeat the new password: ", true)
      elseif pw.step == "repeat" then
        if line ~= pw.new then
          s.password_change = nil
          s:notice("The new passwords do not match; nothing changed.")
          return menu(s)
        end
        pw.step = "wait"
        local old, new = pw.old, pw.new
        pw.old, pw.new = nil, nil
        return pl.change_password(s, old, new) -- the answer: hooks.password_changed
      end
      return s:notice("One moment, changing your password...")
    end
    if s.editing == "tz" then -- the time zone: kept per user (pl.kv), times shown in it (s:time)
      s.editing = nil
      local zone = line:match("^%s*(%S*)%s*$")
      if zone ~= "" and not pl.valid_zone(zone) then
        s:notice("Unknown time zone " .. zone .. "; use a name like Europe/Berlin, America/New_York or UTC.")
        return menu(s)
      end
      s.tz = zone ~= "" and zone or nil
      pl.kv.user(s):set("tz", s.tz)
      s:text("Time zone saved: the time is now " .. s:time(pl.now(), "%H:%M %Z") .. " for you.")
      return menu(s)
    end
    if s.editing == "charset" then
      s.editing = nil
      local name = line:match("^%s*(%S*)%s*$")
      if not pl.profiles.set_charset(s, name ~= "" and name or "auto") then
        s:notice("Unknown character set " .. name .. "; choose auto, utf-8 or cp437.")
      else
        s:text("Character set saved: " .. charset_name(s) .. ".")
      end
      return menu(s)
    end
    if s.editing then
      local f = s.editing
      s.editing = nil
      line = pl.cut(line, f.max)
      pl.profiles.seen(s)
      pl.db.exec("UPDATE s_profiles SET " .. f.column .. " = ? WHERE handle_key = ?", line, s.handle:lower())
      s:text(f.label .. " saved.")
      return menu(s)
    end
    local key = (line:match("^%s*(%S)") or ""):upper()
    if key == "Q" then return s:enter("menu") end
    if key == "W" then
      s.password_change = { step = "old" }
      return s:prompt("Current password: ", true)
    end
    if key == "S" then
      s.editing = "charset"
      return s:prompt("Character set (auto, utf-8 or cp437; empty for auto): ")
    end
    if key == "Z" then
      s.editing = "tz"
      return s:prompt("Time zone (like Europe/Berlin; empty for the board's): ")
    end
    for _, f in ipairs(FIELDS) do
      if f.key == key then
        s.editing = f
        return s:prompt(f.label .. " (empty to clear): ")
      end
    end
    menu(s)
  end,
  leave = function(s) s.editing = nil; s.password_change = nil end,
  recover = function(s) s.editing = nil; s.password_change = nil; menu(s) end,
}

local RESULTS = {
  ok = "Your password has been changed.",
  bad_login = "That is not your current password; nothing changed.",
  weak_password = "That new password is too weak (too short, too common, or your handle); nothing changed.",
  busy = "Still busy with the last attempt; try again in a moment.",
  no_account = "This login has no account to change (it came from a token).",
}

function pl.hooks.password_changed(s, result)
  s.password_change = nil
  if result == "ok" then s:text(RESULTS.ok) else s:notice(RESULTS[result] or ("Password not changed (" .. result .. ").")) end
  if s.service == "profile" then menu(s) end
end

pl.menu_item{ key = "P", label = "Profile", order = 30, service = "profile" }

pl.command{
  name = "charset", args = "[auto|utf-8|cp437]", help = "Your terminal's character set (CP437 for PC/ANSI terminals)",
  run = function(s, args)
    local name = pl.split_first(args)
    if name and not pl.profiles.set_charset(s, name) then
      return s:notice("Unknown character set " .. name .. "; choose auto, utf-8 or cp437.")
    end
    s:text("Character set: " .. charset_name(s) .. (name and " (saved)." or "."))
  end,
}

pl.command{
  name = "whois", args = "<handle>", help = "Someone's profile, whether they are on, and when last seen",
  aliases = { "finger" },
  run = function(s, args, cmd)
    local handle = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local p = pl.profiles.get(handle)
    local online = pl.sessions_of(handle)
    if not p and #online == 0 then return s:notice("No user called " .. handle .. " has been here.") end
    p = p or { handle = online[1].handle, realname = "", location = "", tagline = "" }
    local lines = show(s, p)
    local ev = { type = "profile", handle = p.handle, realname = p.realname, location = p.location,
      tagline = p.tagline, online = #online > 0, last_seen = p.last_seen }
    if #online > 0 then
      local nodes, list = {}, {}
      for _, o in ipairs(online) do
        nodes[#nodes + 1] = o.node .. " (" .. (o.activity or "") .. ")"
        list[#list + 1] = o.node
      end
      ev.nodes = pl.array(list)
      lines[#lines + 1] = "  " .. c("bright_green", "Online") .. " on node " .. table.concat(nodes, ", ")
    else
      lines[#lines + 1] = "  Last seen " .. (p.last_seen or "never")
    end
    ev.text = table.concat(lines, "\n")
    s:send(ev) -- the profile as data too, for clients that show a card
  end,
}
