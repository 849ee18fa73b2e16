-- web.lua: data the web page's panels need, as events a terminal never
-- shows (they have no text): the mailbox for its Mail panel, and the
-- commands this user may use, for completing them with Tab. Sent at login
-- and whenever a page comes back to its session (`attach`: a reload, a
-- second tab, a network drop), to web connections only. Who is online and
-- where is the core's (`presence` events, core/PROTOCOL.md).

local function on_web(s) return s.transport == "websocket" end

-- The commands s may use (as /help lists them, aliases too): names only.
-- Every page holds this event in its session's ring for as long as it is
-- on, so it stays small (with each command's help it was 2 KB a session,
-- half of an idle session's memory); /help has the rest.
function pl.commands_event(s)
  local list = {}
  for name, cmd in pairs(pl.commands) do
    if (not cmd.sysop or s.sysop) and pl.allowed(s, cmd.level) then
      list[#list + 1] = { name = name }
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return { type = "commands", commands = pl.array(list) }
end

-- The inbox as data; `always` false at login, where mail.lua already sent
-- it when there is new mail.
local function mailbox(s, always)
  if not pl.mail then return end
  pl.try("the mailbox for the web page", function()
    local ev = pl.mail.event(s)
    if always or ev.unread == 0 then s:send(ev) end
  end)
end

pl.on("login", function(s)
  if not on_web(s) then return end
  s:send(pl.commands_event(s))
  mailbox(s, false)
end)

pl.on("attach", function(s)
  if not on_web(s) then return end
  s:send(pl.commands_event(s))
  mailbox(s, true)
end)

-- new scripts may have new commands: the pages on this process hear of them
pl.on("reload", function()
  for _, s in ipairs(pl.sessions()) do
    if s.handle and not s.remote and on_web(s) then s:send(pl.commands_event(s)) end
  end
end)
