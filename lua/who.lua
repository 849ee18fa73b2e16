-- who.lua: the `who` event, shared by /who and the main menu.

local function idle_text(secs)
  if secs < 60 then return secs .. "s" end
  if secs < 3600 then return (secs // 60) .. "m" end
  return (secs // 3600) .. "h" .. string.format("%02d", secs % 3600 // 60)
end

function pl.who_event()
  local users, lines = {}, { string.format("%-5s %-20s %-16s %-12s %s", "Node", "Handle", "Activity", "Room", "Idle") }
  for _, s in ipairs(pl.sessions()) do
    if s.handle then -- nodes still at the login prompt are not listed
      local u = { handle = s.handle, node = s.node, activity = s.activity or (s.bot and "Bot" or ""), room = s.room, idle_s = s.idle }
      users[#users + 1] = u
      lines[#lines + 1] = string.format("%-5d %-20s %-16s %-12s %s", u.node, u.handle, u.activity,
        u.room and ("#" .. u.room) or "-", idle_text(u.idle_s))
    end
  end
  lines[#lines + 1] = #users .. (#users == 1 and " user" or " users") .. " online." ..
    (pl.cluster().state == "alone" and " (This part of the board only: the rest is out of reach.)" or "")
  return { type = "who", users = pl.array(users), text = table.concat(lines, "\n") }
end
