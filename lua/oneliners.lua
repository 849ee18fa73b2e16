-- oneliners.lua: the one-liners wall, a BBS staple: the last lines callers
-- left, and a line of your own (through the message hooks, as any public
-- line: kind "oneliner"). Kept with pl.kv.
local KEEP, MAX = 15, 70 -- lines on the wall; characters in one

local function wall() return pl.kv.board:get("oneliners", {}) end

local function show(s)
  local lines = { pl.color("bright_white", "== One-liners ==") }
  for _, l in ipairs(wall()) do lines[#lines + 1] = pl.color("cyan", l.by) .. ": " .. l.text end
  if #lines == 1 then lines[2] = "The wall is empty. Be the first!" end
  pl.page(s, table.concat(lines, "\n"))
end

pl.service{
  id = "oneliners", activity = "Reading the wall",
  enter = function(s)
    show(s)
    s:prompt("Your line (Enter to go back): ")
  end,
  input = function(s, line)
    local text = pl.check_message(s, { kind = "oneliner", body = pl.cut(line:match("^%s*(.-)%s*$"), MAX) })
    if text and text ~= "" then
      local w = wall()
      w[#w + 1] = { by = s.handle, text = text, ms = pl.now() }
      while #w > KEEP do table.remove(w, 1) end
      pl.kv.board:set("oneliners", w)
      s:text("Your line is on the wall.")
    end
    s:enter("menu")
  end,
}

pl.menu_item{ key = "O", label = "One-liners", order = 40, service = "oneliners" }
