-- menu.lua: the main menu. Add an entry from any file with pl.menu_item.
local c = pl.color

local function show(s)
  s:menu("main", "Main Menu", { c("bright_white", "== Main Menu ==") }, pl.menu_items)
end

pl.service{
  id = "menu",
  activity = "Main Menu",
  enter = function(s) show(s) end,
  input = function(s, line)
    local key = line:match("^%s*(%S)") -- the first letter picks
    for _, item in ipairs(pl.menu_items) do
      if key and item.key == key:upper() then
        if item.service then return s:enter(item.service) end
        item.run(s)
        if s.service == "menu" and not s.ended then show(s) end
        return
      end
    end
    if key then s:notice("No such choice: " .. key) end
    show(s)
  end,
}

pl.menu_item{ key = "C", label = "Chat", order = 10, service = "chat" }

pl.menu_item{ key = "W", label = "Who's online", order = 20, run = function(s) s:send(pl.who_event()) end }

pl.menu_item{
  key = "G", label = "Goodbye (log off)", order = 90,
  run = function(s)
    s:send{ type = "bye", reason = "logoff", text = "Goodbye, " .. s.handle .. ". Call again soon!" }
    pl.logoff(s)
    s.service = nil
  end,
}
