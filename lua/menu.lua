-- menu.lua: the main menu. Add an entry from any file with pl.menu_item.
local c = pl.color
local MOVED_HOLD_MS = 1000 -- after a move the user did not ask for: longer than a line takes on its way

-- The entries this user may choose: their level's, not those out of service.
local function entries(s)
  local list = {}
  for _, item in ipairs(pl.menu_items) do
    if not item.disabled and pl.allowed(s, item.level) then list[#list + 1] = item end
  end
  return list
end

local function show(s)
  s:menu("main", "Main Menu", { c("bright_white", "== Main Menu ==") }, entries(s))
end

pl.service{
  id = "menu",
  activity = "Main Menu",
  keys = true, -- hotkeys: a key alone chooses, no Enter (a client that sends lines sends "c" and Enter: the same)
  enter = function(s) show(s) end,
  input = function(s, line)
    -- a user moved here without asking (their service failed or went away):
    -- a line that was on its way for that service is no choice
    local moved = s.moved_ms
    s.moved_ms = nil
    if moved and pl.now() - moved < MOVED_HOLD_MS then
      s:notice("That line was meant for where you were. You are at the main menu now: type the letter of your choice.")
      return show(s)
    end
    -- one key alone picks: a line meant for somewhere else ("good night",
    -- typed as chat was closing) is never taken for its first letter
    local key = line:match("^%s*(%S)%s*$")
    if not key then
      if line:match("%S") then s:notice("Type the letter of your choice.") end
      return show(s)
    end
    for _, item in ipairs(entries(s)) do
      if item.key == key:upper() then
        if item.service then return s:enter(item.service) end
        pl.guarded(item, "menu item " .. item.key, s, item.run, s)
        if s.service == "menu" and not s.leaving then show(s) end
        return
      end
    end
    s:notice("No such choice: " .. key)
    show(s)
  end,
  recover = function(s) show(s) end,
}

pl.menu_item{ key = "C", label = "Chat", order = 10, service = "chat" }

pl.menu_item{
  key = "W", label = "Who's online", order = 20,
  run = function(s)
    local ev = pl.who_event(s)
    pl.page(s, ev.text, ev)
  end,
}

pl.menu_item{
  key = "G", label = "Goodbye (log off)", order = 90,
  run = function(s)
    s:send{ type = "bye", reason = "logoff", text = "Goodbye, " .. s.handle .. ". Call again soon!" }
    pl.logoff(s)
    s.service = nil
  end,
}
