-- chatsplit.lua: split-screen private chat, the classic BBS sysop chat.
-- `/chat <handle>` asks someone; they accept with `/chat <you>` (or
-- decline with `/nochat <you>`); then both are in the `chatsplit` service
-- until either leaves (ESC, /quit, or hanging up). Every key is sent as it
-- is pressed (keys = true), so each sees the other typing live. A sysop
-- may break in on any node with `/breakin <node>`: the user is told.
--
-- On a terminal with ANSI the screen is in two regions (DECSTBM scroll
-- regions, cursor addressing): the other's lines above, with what they
-- are typing on the region's last row, a rule, your lines below, and your
-- input on the bottom row (the telnet prompt, which the core redraws after
-- anything else it writes). A terminal without ANSI (or too small) gets
-- plain lines with the handle and types lines. The web page gets `pane`
-- events (open, typing, close) and `chat` events of kind "split": see
-- core/PROTOCOL.md. Everything between the two goes by pl.emit_to, so the
-- two may be on different processes of the board.
local c = pl.color

local ASK_MS = 120000 -- an invitation holds this long
local TYPING_MS = 100 -- live typing goes out at most this often per party
local LINE_MAX = 400  -- characters a line may have

pl.render.split = function(ev) return c("bright_cyan", "<" .. ev.from .. ">") .. " " .. ev.body end

local serial = 0
local function new_id()
  serial = serial + 1
  return string.format("%x%x%d", pl.now(), math.random(0, 0xffff), serial)
end

local function web(s) return s.transport == "websocket" end

-- The other party's session, or nil when they are gone.
local function peer_of(s)
  local sp = s.split
  if not sp then return nil end
  for _, t in ipairs(pl.sessions_of(sp.peer)) do
    if t.node == sp.peer_node then return t end
  end
  return nil
end

-- The screen's layout on a terminal that can have one, else nil.
local function layout(s)
  local t = s.terminal
  if web(s) or not t or (t.colors or 0) == 0 or not t.rows or t.rows < 8 or not t.cols or t.cols < 30 then return nil end
  local top = (t.rows - 2) // 2
  return { rows = t.rows, cols = t.cols, top = top, rule = top + 1, from = top + 2 }
end

local function csi(...) return "\27[" .. table.concat({ ... }, ";") end

-- Text cut to cols columns and to bytes a prompt can hold (the tail of it
-- when tail: the end of what is being typed is what matters).
local function clip(text, cols, tail)
  if tail and pl.text.width(text) > cols then
    local chars = {}
    for ch in text:gmatch("[%z\1-\127\194-\244][\128-\191]*") do chars[#chars + 1] = ch end
    local out, w = {}, 0
    for i = #chars, 1, -1 do
      w = w + pl.text.width(chars[i])
      if w > cols then break end
      table.insert(out, 1, chars[i])
    end
    text = table.concat(out)
  end
  text = pl.text.fit(text, cols)
  while #text > 90 do text = pl.cut(text, (utf8.len(text) or #text) - 1) end
  return text
end

-- The bottom row (your input) and the row above the rule (what they are
-- typing): the telnet prompt, redrawn after whatever else comes. It sets
-- the scroll region to the lower part again (the input row its last), so
-- anything else the board sends meanwhile (a private message, a
-- broadcast) scrolls in there above the input, as your own lines do.
local function redraw(s)
  local sp, L = s.split, s.split.L
  if not L then return end
  local theirs = sp.peer_line ~= "" and s:color("gray", clip(sp.peer_line, L.cols - 3, true) .. "_") or ""
  s:prompt(csi(L.from, L.rows) .. "r" .. csi(L.top, 1) .. "H" .. csi("") .. "K" .. theirs ..
    csi(L.rows, 1) .. "H" .. csi("") .. "K" .. "> " .. clip(sp.line, L.cols - 3, true))
end

-- The frame: the screen cleared, the rule between the regions.
local function frame(s)
  local sp, L = s.split, s.split.L
  local label = " " .. sp.peer .. " above, you below; ESC or /quit ends "
  local rule = "\u{2500}\u{2500}" .. label .. string.rep("\u{2500}", math.max(0, L.cols - 3 - pl.text.width(label)))
  pl.send(s, { type = "text", text = csi("") .. "r" .. csi("2") .. "J" .. csi(L.rule, 1) .. "H" ..
    s:color("bright_blue", pl.text.fit(rule, L.cols - 1)) })
  s:send{ type = "text", text = csi(1, L.top) .. "r" .. csi(L.top, 1) .. "H" .. s:color("bright_white", sp.title) }
  redraw(s)
end

-- A line said in the chat, to s: above when it is the other's, below when
-- it is s's own; one `chat` event of kind "split" either way.
local function show(s, from, body)
  local sp = s.split
  local ev = pl.chat_event("split", { from = from, body = body, pane = sp.id, ts = pl.iso_time() })
  local L = sp.L
  if L then
    local nl = layout(s)
    if nl and (nl.rows ~= L.rows or nl.cols ~= L.cols) then -- the window changed size (NAWS): draw it again
      sp.L, L = nl, nl
      frame(s)
    end
    local mine = from == s.handle
    local region = mine and (csi(L.from, L.rows) .. "r" .. csi(L.rows, 1) .. "H") or (csi(1, L.top) .. "r" .. csi(L.top, 1) .. "H")
    ev.text = region .. csi("") .. "K" .. ev.text
  end
  s:send(ev)
  if L then redraw(s) end
end

-- Tells the other party what s has typed so far, at most every TYPING_MS.
local function typing(s)
  local sp = s.split
  if not sp or sp.timer then return end
  local wait = sp.typed_at + TYPING_MS - pl.now()
  if wait > 0 then
    sp.timer = pl.after(wait, function()
      sp.timer = nil
      if s.split == sp then typing(s) end
    end)
    return
  end
  sp.typed_at = pl.now()
  local p = peer_of(s)
  if p then pl.emit_to(p, "split_typing", sp.id, s.handle, sp.line) end
end

local function say(s, body)
  local sp = s.split
  body = pl.check_message(s, { kind = "direct", body = body, to = sp.peer })
  if not body or not s.split then return end
  show(s, s.handle, body)
  local p = peer_of(s)
  if p then pl.emit_to(p, "split_line", sp.id, s.handle, body) end
end

-- Opens s's side of a split chat with peer (handle, node).
local function open(s, peer, node, id, title)
  s.split_offers, s.split_asked = nil, nil
  s.pager = nil -- a "-- More --" that waited is done with: the screen is the chat's now
  s.split = { id = id, peer = peer, peer_node = node, title = title, line = "", peer_line = "", typed_at = 0,
    back = s.service == "chat" and "chat" or "menu" }
  s:enter("chatsplit")
end

-- Ends s's side: the service s came from takes over (leave below cleans up).
local function finish(s, reason)
  local sp = s.split
  if not sp then return end
  sp.reason = reason
  if s.service == "chatsplit" then s:enter(sp.back) else s.split = nil end
end

local NAMED = { backspace = true, tab = true, escape = true, up = true, down = true, left = true, right = true,
  home = true, ["end"] = true, insert = true, delete = true, pageup = true, pagedown = true }

pl.service{
  id = "chatsplit",
  activity = "Private chat",
  keys = true,
  enter = function(s)
    local sp = s.split
    if not sp then return s:enter("menu") end
    sp.L = layout(s)
    if web(s) then
      s:send{ type = "pane", op = "open", id = sp.id, with = sp.peer, title = sp.title }
    elseif sp.L then
      frame(s)
    else -- a terminal without ANSI: lines, each said with its handle
      s:keys(false)
      s:text(c("bright_white", sp.title) .. " Type /quit to end it.")
      s:prompt("> ")
    end
  end,
  input = function(s, key)
    local sp = s.split
    if not sp then return s:enter("menu") end
    if not s.keys_on then -- lines: a terminal without ANSI, or a client that sends lines
      if key:match("^%s*/q[uit]*%s*$") then return finish(s, "left") end
      if key:match("%S") then say(s, pl.cut(key, LINE_MAX)) end
      if not sp.L and not web(s) then s:prompt("> ") end
      return
    end
    if key == "escape" then return finish(s, "left") end
    if key == "" then -- Enter: the line is said
      local line = sp.line
      sp.line = ""
      if line:match("^%s*/q[uit]*%s*$") then return finish(s, "left") end
      typing(s)
      if line:match("%S") then say(s, line) elseif sp.L then redraw(s) end
      return
    end
    if key == "backspace" or key == "delete" then
      if sp.line == "" then return end
      sp.line = sp.line:gsub("[%z\1-\127\194-\244][\128-\191]*$", "", 1)
    elseif key == "tab" then
      sp.line = sp.line .. " "
    elseif NAMED[key] then
      return
    elseif (utf8.len(key) or 2) > 1 then -- a line typed whole (a client with an input box of its own): said
      local line = pl.cut(sp.line .. key, LINE_MAX)
      sp.line = ""
      typing(s)
      if line:match("^%s*/q[uit]*%s*$") then return finish(s, "left") end
      return say(s, line)
    elseif (utf8.len(sp.line) or 0) < LINE_MAX then
      sp.line = sp.line .. key
    end
    typing(s)
    redraw(s)
  end,
  leave = function(s, why)
    local sp = s.split
    if not sp then return end
    local p = not sp.peer_left and peer_of(s)
    s.split = nil
    if p then
      pl.emit_to(p, "split_close", sp.id, s.handle, why == "disconnect" and "disconnected" or "left")
    end
    if why == "disconnect" then return end
    local text = sp.peer_left and (sp.peer .. (sp.reason == "disconnected" and " hung up." or " ended the chat."))
      or "You ended the chat with " .. sp.peer .. "."
    if web(s) then
      s:send{ type = "pane", op = "close", id = sp.id, reason = text }
    elseif sp.L then
      pl.send(s, { type = "prompt", text = "" }) -- the input row is no prompt any more
      pl.send(s, { type = "text", text = csi("") .. "r" .. csi("2") .. "J" .. csi("") .. "H" })
    end
    s:send(pl.chat_event("system", { body = "Private chat over: " .. text }))
  end,
  recover = function(s) finish(s, "failed") end,
}

------------------------------------------------------------------ between the two

pl.on("split_typing", function(t, id, from, text)
  local sp = t.split
  if not sp or sp.id ~= id then return end
  sp.peer_line = text or ""
  if web(t) then return t:send{ type = "pane", op = "typing", id = id, from = from, text = sp.peer_line } end
  redraw(t)
end)

-- The window changed size: the screen is laid out and drawn again (what
-- was on it is gone: the lines said come on from here).
pl.on("resize", function(s)
  local sp = s.split
  if not sp or s.service ~= "chatsplit" or not sp.L then return end
  local L = layout(s)
  if not L then return end
  sp.L = L
  frame(s)
end)

pl.on("split_line", function(t, id, from, body)
  local sp = t.split
  if not sp or sp.id ~= id then return end
  sp.peer_line = ""
  if web(t) then t:send{ type = "pane", op = "typing", id = id, from = from, text = "" } end
  show(t, from, body)
end)

pl.on("split_close", function(t, id, from, reason)
  local sp = t.split
  if not sp or sp.id ~= id then return end
  sp.peer_left = true
  finish(t, reason)
end)

-- An invitation: kept for ASK_MS, and the user told (unless they ignore the asker).
pl.on("split_ask", function(t, from, node)
  if pl.ignoring(t, from) then return end
  t.split_offers = t.split_offers or {}
  t.split_offers[from:lower()] = { node = node, at = pl.now() }
  t:send(pl.chat_event("system", { body = from .. " asks you to a private chat. Type /chat " .. from ..
    " to accept, or /nochat " .. from .. " to decline." }))
  t:bell()
end)

-- The asker hears that it was accepted: both sides open.
pl.on("split_accepted", function(t, id, from, node)
  local asked = t.split_asked
  local back = nil
  for _, x in ipairs(pl.sessions_of(from)) do
    if x.node == node then back = x end
  end
  if not back then return end
  if t.split or not asked or asked.handle ~= from:lower() or pl.now() - asked.at > ASK_MS then
    return pl.emit_to(back, "split_refused", t.handle)
  end
  pl.emit_to(back, "split_go", id, t.handle, t.node)
  open(t, from, node, id, "Private chat with " .. from)
end)

pl.on("split_go", function(t, id, from, node)
  if t.split then return end
  open(t, from, node, id, "Private chat with " .. from)
end)

pl.on("split_refused", function(t, from)
  t:notice(from .. " is not waiting for a private chat with you any more.")
end)

pl.on("split_declined", function(t, from)
  if t.split_asked and t.split_asked.handle == from:lower() then t.split_asked = nil end
  t:send(pl.chat_event("system", { body = from .. " declined your invitation to a private chat." }))
end)

-- A sysop broke in: the user is told, and the chat opens at once.
pl.on("split_breakin", function(t, id, from, node)
  if t.split or not t.handle then
    for _, x in ipairs(pl.sessions_of(from)) do
      if x.node == node then pl.emit_to(x, "split_close", id, t.handle or "?", "busy") end
    end
    return
  end
  t:send(pl.chat_event("system", { body = "The sysop " .. from .. " has broken in to chat with you." }))
  t:bell()
  open(t, from, node, id, "The sysop " .. from .. " has broken in to chat with you")
end)

------------------------------------------------------------------ commands

pl.command{
  name = "chat", args = "<handle>", help = "Private split-screen chat: ask someone, or accept their invitation",
  run = function(s, args, cmd)
    local handle = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local key = handle:lower()
    if key == (s.handle or ""):lower() then return s:notice("You cannot chat with yourself.") end
    local offer = s.split_offers and s.split_offers[key]
    if offer and pl.now() - offer.at <= ASK_MS then -- an invitation from them: accepted
      s.split_offers[key] = nil
      for _, t in ipairs(pl.sessions_of(handle)) do
        if t.node == offer.node then
          s:text("Accepting " .. t.handle .. "'s invitation...")
          return pl.emit_to(t, "split_accepted", new_id(), s.handle, s.node)
        end
      end
      return s:notice(handle .. " is not online any more.")
    end
    local targets = pl.sessions_of(handle)
    if #targets == 0 then return s:notice("Nobody called " .. handle .. " is online.") end
    s.split_asked = { handle = targets[1].handle:lower(), at = pl.now() }
    for _, t in ipairs(targets) do pl.emit_to(t, "split_ask", s.handle, s.node) end
    s:text("You asked " .. targets[1].handle .. " to a private chat; it opens when they accept (/chat " .. s.handle .. ").")
  end,
}

pl.command{
  name = "nochat", args = "<handle>", help = "Decline someone's invitation to a private chat",
  run = function(s, args, cmd)
    local handle = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local offer = s.split_offers and s.split_offers[handle:lower()]
    if not offer then return s:notice(handle .. " has not asked you to a private chat.") end
    s.split_offers[handle:lower()] = nil
    for _, t in ipairs(pl.sessions_of(handle)) do
      if t.node == offer.node then pl.emit_to(t, "split_declined", s.handle) end
    end
    s:text("Declined.")
  end,
}

pl.command{
  name = "breakin", args = "<node>", help = "Break in on a node for a split-screen chat (the user is told)", sysop = true,
  run = function(s, args, cmd)
    local node = tonumber(pl.split_first(args) or "")
    if not node then return pl.usage(s, cmd) end
    local target
    for _, t in ipairs(pl.sessions()) do
      if t.node == node then target = t end
    end
    if not target or not target.handle then return s:notice("Nobody is logged in on node " .. node .. ".") end
    if target.node == s.node then return s:notice("That is your own node.") end
    if target.service == "chatsplit" then return s:notice(target.handle .. " is in a private chat already.") end
    local id = new_id()
    open(s, target.handle, target.node, id, "Break-in: chatting with " .. target.handle .. " on node " .. node)
    pl.emit_to(target, "split_breakin", id, s.handle, s.node)
  end,
}
