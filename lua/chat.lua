-- chat.lua: the chat service. Lines starting with / are commands
-- (lua/commands/); anything else is said to the room. Emits the events
-- join (s, room), leave (s, room, reason) and line (s, ev).
local c = pl.color

pl.chat = {}

-- New rooms each user opened in the last hour (handle key -> times, ms),
-- for the `rooms_per_hour` quota. A room is new when nobody is in it and it
-- has no history; the lobby never counts, nor do sysops.
local opened = {}
local HOUR = 3600000

local function may_open(s, name)
  if s.sysop or name == "lobby" or #pl.members(name) > 0 or (pl.history and pl.history.has(name)) then return true end
  local limit = tonumber(pl.config("rooms_per_hour") or "") or 10
  if limit <= 0 then return true end
  local key, now, recent = (s.handle or ""):lower(), pl.now(), {}
  for _, t in ipairs(opened[key] or {}) do
    if now - t < HOUR then recent[#recent + 1] = t end
  end
  if #recent >= limit then
    opened[key] = recent
    return false, limit, math.max(1, math.ceil((recent[1] + HOUR - now) / 60000))
  end
  recent[#recent + 1] = now
  opened[key] = recent
  return true
end

-- Moves s into a room, announcing the leave and the join. Returns the
-- room's name, or nil and why: "bad_room", or "room_quota" (with the
-- user told).
function pl.chat.join(s, room, quiet)
  local name = pl.room_name(room)
  if not name then return nil, "bad_room" end
  if s.room == name then return name end
  local ok, limit, minutes = may_open(s, name)
  if not ok then
    s:notice("You can open " .. limit .. " new " .. (limit == 1 and "room" or "rooms") .. " an hour; try again in " ..
      minutes .. (minutes == 1 and " minute" or " minutes") .. ", or join a room that is open (/rooms).")
    return nil, "room_quota"
  end
  if s.room then pl.chat.leave(s) end
  pl.join(s, name)
  s.last_room = name
  -- before the room hears of it: history.lua shows the earlier lines here
  pl.emit("join", s, name)
  -- quiet: the user comes back after a move between the board's processes
  -- and the room never saw them leave
  if not quiet then pl.publish(name, pl.chat_event("join", { room = name, from = s.handle })) end
  return name
end

-- Announces the leave to the room (s included) and leaves it.
function pl.chat.leave(s, reason)
  local room = s.room
  if not room then return end
  pl.publish(room, pl.chat_event("leave", { room = room, from = s.handle, reason = reason }))
  pl.leave(s)
  pl.emit("leave", s, room, reason)
end

-- A line from the board itself, not from any user: a `system` chat event
-- in room, kept in its history, and never passed to the message hooks (so
-- what /roll announces cannot be rewritten, nor faked with /me, whose
-- lines are users' actions). Emits `announce` (room, ev). Returns the
-- event, or nil and "bad_room".
function pl.chat.announce(room, text)
  local name = pl.room_name(room or "")
  if not name then return nil, "bad_room" end
  local ev = pl.chat_event("system", { room = name, body = tostring(text), ts = pl.iso_time() })
  pl.publish(name, ev)
  pl.emit("announce", name, ev) -- history.lua keeps it
  return ev
end

function pl.chat.say(s, kind, body)
  if not s.room then return end
  body = pl.check_message(s, { kind = kind, body = body, room = s.room })
  if not body then return end
  local ev = pl.chat_event(kind, { room = s.room, from = s.handle, body = body, ts = pl.iso_time() })
  pl.publish(s.room, ev, s) -- those ignoring s do not get it
  pl.emit("line", s, ev) -- history.lua keeps it
end

pl.service{
  id = "chat",
  activity = "In Chat",
  enter = function(s, how)
    local back = how and how.back
    local room = pl.chat.join(s, s.last_room or "lobby", back) or pl.chat.join(s, "lobby")
    if back then
      return s:text(c("bright_white", "You are back in #" .. room .. ".") ..
        " Lines said while you were away are shown above from the room's history.")
    end
    local others = #pl.members(room) - 1
    s:text(c("bright_white", "You are in #" .. room .. ".") .. " " ..
      (others == 0 and "Nobody else is here yet." or (others .. (others == 1 and " other person is" or " others are") .. " here.")) ..
      " Type /help for commands, /quit to leave.")
  end,
  input = function(s, line)
    if s.offer and pl.chat.answer_offer(s, line) then return end
    if line:match("^%s*$") then return end
    if line:sub(1, 1) == "/" and line:sub(2, 2) ~= "/" then
      return pl.run_command(s, line)
    end
    if line:sub(1, 2) == "//" then line = line:sub(2) end -- "//" sends a line starting with "/"
    pl.chat.say(s, "say", line)
  end,
  leave = function(s, why)
    s.offer = nil
    pl.chat.leave(s, why == "disconnect" and "disconnected" or nil)
  end,
}
