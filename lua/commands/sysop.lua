-- Sysop tools. Only sessions with s.sysop see or run these; every use is
-- logged with who did it.

local function logged(s, what, event)
  pl.log(s.handle .. " " .. what, event or "sysop", s)
end

-- Whether the configuration's `sysops` names handle. The list is compared
-- word by word: a handle typed by a sysop is never made into a pattern.
local function configured_sysop(handle)
  for name in (pl.config("sysops") or ""):gmatch("[^%s,]+") do
    if name:lower() == handle:lower() then return true end
  end
  return false
end

pl.command{
  name = "broadcast", args = "<text>", help = "Tell every node something", sysop = true,
  run = function(s, args, cmd)
    if args == "" then return pl.usage(s, cmd) end
    local n = pl.broadcast(pl.chat_event("system", { body = args .. " (" .. s.handle .. ")" }))
    logged(s, "broadcast to " .. n .. " nodes: " .. args)
  end,
}

pl.command{
  name = "kick", args = "<handle> [reason]", help = "Disconnect a user", sysop = true,
  run = function(s, args, cmd)
    local handle, reason = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local targets = pl.sessions_of(handle)
    if #targets == 0 then return s:notice("Nobody called " .. handle .. " is online.") end
    local why = reason ~= "" and reason or "no reason given"
    for _, t in ipairs(targets) do
      t:send{ type = "bye", reason = "kicked", text = "You have been disconnected by " .. s.handle .. ": " .. why }
      pl.logoff(t)
    end
    -- their tokens too, or a client would be straight back in with one
    pl.revoke_tokens(targets[1].handle)
    s:text("Kicked " .. targets[1].handle .. " (" .. #targets .. (#targets == 1 and " node)." or " nodes)."))
    logged(s, "kicked " .. targets[1].handle .. ": " .. why, "kick")
  end,
}

pl.command{
  name = "nodes", help = "Every node: handle, address, activity, room, idle, transport (+tls when encrypted)", sysop = true,
  run = function(s)
    local rows = {}
    for _, n in ipairs(pl.sessions()) do
      rows[#rows + 1] = { n.node, n.handle or "(logging in)", n.address, n.activity or "", n.room and ("#" .. n.room) or "-",
        n.idle .. "s", n.transport and (n.transport .. (n.secure and n.transport ~= "ssh" and "+tls" or "")) or "detached" }
    end
    -- the address is never cut below an IPv4 address's width
    pl.page(s, pl.columns(s, { { "Node" }, { "Handle", min = 8 }, { "Address", min = 15 }, { "Activity", min = 8, optional = true },
      { "Room", min = 6 }, { "Idle" }, { "Via", optional = true } }, rows))
    logged(s, "listed the nodes")
  end,
}

------------------------------------------------------------------ bans

pl.command{
  name = "ban", args = "<handle|address> [duration] [reason]",
  help = "Keep a user or address out (duration like 30m, 12h, 7d; none = until /unban)", sysop = true,
  run = function(s, args, cmd)
    local target, rest = pl.split_first(args)
    if not target then return pl.usage(s, cmd) end
    local word, after = pl.split_first(rest)
    local ms = pl.bans.duration(word)
    local reason = ms and after or rest
    local kind = pl.bans.kind_of(target)
    if kind == "handle" then
      if not pl.valid_handle(target) then
        return s:notice(target .. " is neither a handle nor an address (an address prefix looks like 10.1.2.*).")
      end
      local acct = pl.account(target)
      if acct then target = acct.handle end
      if target:lower() == s.handle:lower() then return s:notice("You cannot ban yourself.") end
      if (acct and acct.sysop) or configured_sysop(target) then
        return s:notice(target .. " is a sysop; take that away first (/sysop " .. target .. " off).")
      end
    elseif not pl.valid_address_pattern(target) then
      return s:notice(target .. " is not an address, or an address prefix like 10.1.2.*")
    elseif pl.bans.matches(target:lower(), s.address) then
      return s:notice("That would ban your own address.")
    end
    local b = pl.bans.store(kind, target, ms, reason, s.handle)
    local gone = 0
    for _, t in ipairs(pl.sessions()) do
      local hit
      if kind == "handle" then hit = t.handle and t.handle:lower() == target:lower()
      else hit = not t.sysop and pl.bans.matches(target:lower(), t.address) end
      if hit and t ~= s then
        pl.bans.refuse(t, b)
        gone = gone + 1
      end
    end
    pl.bans.enforce(kind, target)
    local who = kind == "handle" and target or ("address " .. target)
    local terms = pl.bans.until_text(b) .. (reason ~= "" and (": " .. reason) or "")
    s:text(who .. " banned " .. terms .. (gone > 0 and (" (" .. gone .. (gone == 1 and " node" or " nodes") .. " disconnected)") or "") .. ".")
    logged(s, "banned " .. who .. " " .. terms, "ban")
  end,
}

pl.command{
  name = "unban", args = "<handle|address>", help = "Lift a ban", sysop = true,
  run = function(s, args, cmd)
    local target = pl.split_first(args)
    if not target then return pl.usage(s, cmd) end
    if not pl.bans.remove(target) then return s:notice(target .. " is not banned.") end
    s:text(target .. " is no longer banned.")
    logged(s, "lifted the ban on " .. target, "ban")
  end,
}

pl.command{
  name = "bans", help = "The bans in force", sysop = true,
  run = function(s)
    local list = pl.bans.list()
    if #list == 0 then return s:text("Nobody is banned.") end
    local rows = {}
    for _, b in ipairs(list) do rows[#rows + 1] = { b.kind, b.target, pl.bans.until_text(b), b.by, b.reason } end
    pl.page(s, pl.columns(s, { { "Kind" }, { "Target", min = 15 }, { "Until", min = 10 }, { "By", min = 6 }, { "Reason", min = 10 } }, rows))
  end,
}

------------------------------------------------------------------ watching a node

-- What the watched user is told when a sysop starts or stops watching; set
-- these to false to watch unseen (your system's policy; say so in its rules).
local SPY_TELL_START = "A sysop is now watching this node."
local SPY_TELL_STOP = "The sysop has stopped watching this node."

local function tell(t, text)
  if text and t and not t.ended then t:send(pl.chat_event("system", { body = text })) end
end

pl.command{
  name = "spy", args = "[node]", help = "Watch a node: see what its user sees (alone: stop)", sysop = true,
  run = function(s, args, cmd)
    local was = s.spying and pl.session_at(s.spying)
    if args == "" then
      if not s.spying then return pl.usage(s, cmd) end
      pl.spy(s, nil)
      tell(was, SPY_TELL_STOP)
      s:text("You stopped watching node " .. (was and was.node or "?") .. ".")
      return logged(s, "stopped watching node " .. (was and was.node or "?"), "spy")
    end
    local node = tonumber(args:match("^#?(%d+)$"))
    local t = node and pl.session_at(node)
    if not t then return s:notice("There is nobody on node " .. args .. ".") end
    if t == s then return s:notice("That is your own node.") end
    if was and was ~= t then tell(was, SPY_TELL_STOP) end
    s:text("Watching node " .. t.node .. " (" .. (t.handle or "logging in") .. "). Its output is shown with [" ..
      t.node .. "] in front; /spy alone stops.")
    pl.spy(s, t, pl.color("gray", "[" .. t.node .. "] "))
    if was ~= t then tell(t, SPY_TELL_START) end
    logged(s, "started watching node " .. t.node .. (t.handle and (" (" .. t.handle .. ")") or ""), "spy")
  end,
}

------------------------------------------------------------------ sysop rights

pl.command{
  name = "sysop", args = "<handle> [on|off]", help = "Give or take sysop rights (alone: show)", sysop = true,
  run = function(s, args, cmd)
    local handle, what = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local acct = pl.account(handle)
    if not acct then return s:notice("There is no account called " .. handle .. ".") end
    what = what:lower()
    if what == "" then
      return s:text(acct.handle .. (acct.sysop and " is a sysop." or " is not a sysop."))
    end
    if what ~= "on" and what ~= "off" then return pl.usage(s, cmd) end
    pl.set_sysop(acct.handle, what == "on")
    s:text(acct.handle .. (what == "on" and " is now a sysop." or " is no longer a sysop (unless the configuration names them)."))
    for _, t in ipairs(pl.sessions_of(acct.handle)) do
      if t ~= s then
        t:send(pl.chat_event("system", { body = what == "on" and (s.handle .. " made you a sysop. /help shows your new commands.")
          or (s.handle .. " took away your sysop rights.") }))
      end
    end
    logged(s, (what == "on" and "gave sysop rights to " or "took sysop rights from ") .. acct.handle)
  end,
}

------------------------------------------------------------------ access levels

pl.command{
  name = "level", args = "<handle> [0-255]", help = "Show or set a user's access level", sysop = true,
  run = function(s, args, cmd)
    local handle, value = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local acct = pl.account(handle)
    if not acct then return s:notice("There is no account called " .. handle .. ".") end
    if value == "" then return s:text(acct.handle .. " is at level " .. acct.level .. ".") end
    local level = value:match("^%d+$") and tonumber(value)
    if not level or level > 255 then return pl.usage(s, cmd) end
    pl.set_level(acct.handle, level)
    s:text(acct.handle .. " is now at level " .. level .. " (was " .. acct.level .. ").")
    for _, t in ipairs(pl.sessions_of(acct.handle)) do
      if t ~= s then t:send(pl.chat_event("system", { body = s.handle .. " set your access level to " .. level .. "." })) end
    end
    logged(s, "set the level of " .. acct.handle .. " to " .. level .. " (was " .. acct.level .. ")")
  end,
}
