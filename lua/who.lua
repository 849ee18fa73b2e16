-- who.lua: the `who` event, shared by /who and the main menu.

local function idle_text(secs)
  if secs < 60 then return secs .. "s" end
  if secs < 3600 then return (secs // 60) .. "m" end
  return (secs // 3600) .. "h" .. string.format("%02d", secs % 3600 // 60)
end

-- s: the session the table is laid out for (its screen's width, pl.columns).
function pl.who_event(s)
  local viewer = s
  local users, rows = {}, {}
  for _, s in ipairs(pl.sessions()) do
    if s.handle then -- nodes still at the login prompt are not listed
      local u = { handle = s.handle, node = s.node, activity = s.activity or (s.bot and "Bot" or ""), room = s.room, idle_s = s.idle }
      users[#users + 1] = u
      rows[#rows + 1] = { u.node, u.handle, u.activity, u.room and ("#" .. u.room) or "-", idle_text(u.idle_s) }
    end
  end
  local lines = { pl.columns(viewer, { { "Node" }, { "Handle", min = 8 }, { "Activity", min = 8 }, { "Room", min = 6 }, { "Idle" } }, rows) }
  lines[#lines + 1] = #users .. (#users == 1 and " user" or " users") .. " online." ..
    (pl.cluster().state == "alone" and " (This part of the board only: the rest is out of reach.)" or "")
  return { type = "who", users = pl.array(users), text = table.concat(lines, "\n") }
end
