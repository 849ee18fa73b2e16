-- Moving between rooms.

pl.command{
  name = "join", args = "<room>", help = "Go to another room (made if new)",
  aliases = { "j" },
  run = function(s, args, cmd)
    local room = pl.split_first(args)
    if not room then return pl.usage(s, cmd) end
    local name = pl.room_name((room:gsub("^#", "")))
    if not name then
      return s:notice("Room names are 1-24 letters, digits, _ - or .")
    end
    if name == s.room then return s:notice("You are already in #" .. name .. ".") end
    if not pl.chat.join(s, name) then return end -- told why
    local others = #pl.members(name) - 1
    s:text("You are in #" .. name .. " with " .. others .. (others == 1 and " other." or " others."))
  end,
}

pl.command{
  name = "rooms", help = "List the rooms and who is in them",
  run = function(s)
    local rooms = pl.rooms()
    table.sort(rooms, function(a, b) return a.name < b.name end)
    local lines = { pl.color("bright_white", "Rooms:") }
    for _, r in ipairs(rooms) do
      lines[#lines + 1] = string.format("  #%-24s %d %s%s", r.name, r.count, r.count == 1 and "person" or "people",
        r.name == s.room and "  (you are here)" or "")
      r.here = r.name == s.room
    end
    -- the list as data too, for clients with a rooms panel
    s:send{ type = "rooms", rooms = pl.array(rooms), text = table.concat(lines, "\n") }
  end,
}
