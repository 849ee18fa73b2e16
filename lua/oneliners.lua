-- oneliners.lua: the one-liners wall: the last lines callers left, and one
-- of your own (message hooks apply: kind "oneliner"). Kept in pl.kv.
local KEEP, MAX = 15, 70 -- lines on the wall; characters in one

pl.service{
  id = "oneliners", activity = "Reading the wall",
  enter = function(s)
    local lines = { pl.color("bright_white", "== One-liners ==") }
    for _, l in ipairs(pl.kv.board:get("oneliners", {})) do lines[#lines + 1] = pl.color("cyan", l.by) .. ": " .. l.text end
    pl.page(s, table.concat(lines, "\n"))
    s:prompt("Your line (Enter to go back): ")
  end,
  input = function(s, line)
    local text = pl.check_message(s, { kind = "oneliner", body = pl.cut(line:match("^%s*(.-)%s*$"), MAX) })
    if text and text ~= "" then
      local wall = pl.kv.board:get("oneliners", {})
      wall[#wall + 1] = { by = s.handle, text = text }
      if #wall > KEEP then table.remove(wall, 1) end
      pl.kv.board:set("oneliners", wall)
      s:text("Your line is on the wall.")
    end
    s:enter("menu")
  end,
}
pl.menu_item{ key = "O", label = "One-liners", order = 40, service = "oneliners" }
