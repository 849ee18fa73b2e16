-- /ignore and /unignore: an ignored user's lines, actions, private messages,
-- pages and typing no longer reach you. The list is kept in the database, so
-- it holds across logins, and applies on every node you are logged in on.
pl.db.exec([[CREATE TABLE IF NOT EXISTS s_ignore (
  who TEXT NOT NULL, ignored TEXT NOT NULL, PRIMARY KEY (who, ignored))]])

pl.ignores = {}

-- At login: hand the saved list to the core, which filters room lines.
function pl.ignores.load(s)
  for _, r in ipairs(pl.db.query("SELECT ignored FROM s_ignore WHERE who = ?", s.handle:lower())) do
    pl.ignore(s, r.ignored)
  end
end
pl.on("login", function(s) pl.ignores.load(s) end)

-- Whether who (online or not) ignores handle: for mail, which waits.
function pl.ignores.has(who, handle)
  return #pl.db.query("SELECT 1 FROM s_ignore WHERE who = ? AND ignored = ?", who:lower(), handle:lower()) > 0
end

local function set(s, handle, on)
  for _, mine in ipairs(pl.sessions_of(s.handle)) do pl.ignore(mine, handle, on) end
  if on then
    pl.db.exec("INSERT INTO s_ignore (who, ignored) VALUES (?, ?) ON CONFLICT DO NOTHING", s.handle:lower(), handle:lower())
  else
    pl.db.exec("DELETE FROM s_ignore WHERE who = ? AND ignored = ?", s.handle:lower(), handle:lower())
  end
end

pl.command{
  name = "ignore", args = "[handle]", help = "Stop hearing someone (alone: list who you ignore)",
  run = function(s, args)
    local handle = pl.split_first(args)
    if not handle then
      local rows = pl.db.query("SELECT ignored FROM s_ignore WHERE who = ? ORDER BY ignored", s.handle:lower())
      if #rows == 0 then return s:text("You are not ignoring anyone.") end
      local names = {}
      for _, r in ipairs(rows) do names[#names + 1] = r.ignored end
      return s:text("You are ignoring: " .. table.concat(names, ", "))
    end
    if not pl.valid_handle(handle) then return s:notice("That is not a valid handle.") end
    if handle:lower() == s.handle:lower() then return s:notice("You cannot ignore yourself.") end
    set(s, handle, true)
    s:text("You are now ignoring " .. handle .. ". /unignore " .. handle .. " to hear them again.")
  end,
}

pl.command{
  name = "unignore", args = "<handle>", help = "Hear someone you ignored again",
  run = function(s, args, cmd)
    local handle = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    if not pl.ignoring(s, handle) then return s:notice("You are not ignoring " .. handle .. ".") end
    set(s, handle, false)
    s:text("You hear " .. handle .. " again.")
  end,
}
