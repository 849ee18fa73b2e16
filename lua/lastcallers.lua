-- lastcallers.lua: the last callers list, a BBS staple: who called last,
-- on which node, when (in the reader's own time zone) and how often.
-- Kept with pl.kv, written at each login.
local KEEP = 10

pl.on("login", function(s, info)
  local list = pl.kv.board:get("lastcallers", {})
  table.insert(list, 1, { handle = s.handle, node = s.node, ms = pl.now(), calls = info.logins })
  while #list > KEEP do table.remove(list) end
  pl.kv.board:set("lastcallers", list)
end)

local function show(s)
  local lines = { pl.color("bright_white", "== Last callers =="),
    string.format("%-20s %-5s %-17s %s", "Handle", "Node", "When", "Calls") }
  for _, c in ipairs(pl.kv.board:get("lastcallers", {})) do
    lines[#lines + 1] = string.format("%-20s %-5d %-17s %d", c.handle, c.node, s:time(c.ms, "%Y-%m-%d %H:%M"), c.calls)
  end
  pl.page(s, table.concat(lines, "\n"))
end

pl.menu_item{ key = "L", label = "Last callers", order = 45, run = show }
