-- render.lua: how each kind of chat event reads as text. `ev` has the
-- structured fields (from, to, room, body); `viewer` is the session the text
-- is for when it differs per person (private messages), else nil.
local c = pl.color

pl.render.say = function(ev) return c("bright_cyan", "<" .. ev.from .. ">") .. " " .. ev.body end

pl.render.action = function(ev) return c("bright_magenta", "* " .. ev.from .. " " .. ev.body) end

pl.render.direct = function(ev, viewer)
  if viewer and viewer.handle == ev.from then
    return c("green", "-> *" .. ev.to .. "*") .. " " .. ev.body
  end
  return c("bright_green", "*" .. ev.from .. "*") .. " " .. ev.body
end

pl.render.page = function(ev, viewer)
  if viewer and viewer.handle == ev.from then
    return c("yellow", "You page " .. ev.to .. ".")
  end
  return c("bright_yellow", ev.from .. " is paging you from node " .. (ev.node or "?") .. "!")
end

pl.render.join = function(ev) return c("gray", "*** " .. ev.from .. " has joined #" .. ev.room) end

pl.render.leave = function(ev)
  local why = ev.reason and (" (" .. ev.reason .. ")") or ""
  return c("gray", "*** " .. ev.from .. " has left #" .. ev.room .. why)
end

pl.render.system = function(ev) return c("bright_red", "*** " .. ev.body) end
