-- chat.lua: the chat service. Lines starting with / are commands
-- (lua/commands/); anything else is said to the room.
local c = pl.color

pl.chat = {}

-- Moves s into a room, announcing the leave and the join.
function pl.chat.join(s, room)
  local name = pl.room_name(room)
  if not name then return nil, "bad_room" end
  if s.room == name then return name end
  if s.room then pl.chat.leave(s) end
  pl.join(s, name)
  s.last_room = name
  if pl.history then pl.history.replay(s, name) end
  pl.publish(name, pl.chat_event("join", { room = name, from = s.handle }))
  return name
end

-- Announces the leave to the room (s included) and leaves it.
function pl.chat.leave(s, reason)
  local room = s.room
  if not room then return end
  pl.publish(room, pl.chat_event("leave", { room = room, from = s.handle, reason = reason }))
  pl.leave(s)
end

function pl.chat.say(s, kind, body)
  if not s.room then return end
  body = pl.check_message(s, { kind = kind, body = body, room = s.room })
  if not body then return end
  local ev = pl.chat_event(kind, { room = s.room, from = s.handle, body = body, ts = pl.iso_time() })
  pl.publish(s.room, ev, s) -- those ignoring s do not get it
  if pl.history then pl.history.record(ev) end
end

pl.service{
  id = "chat",
  activity = "In Chat",
  enter = function(s)
    local room = pl.chat.join(s, s.last_room or "lobby")
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
