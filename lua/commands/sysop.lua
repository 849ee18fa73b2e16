-- Sysop tools. Only sessions with s.sysop see or run these; every use is
-- logged with who did it.

local function logged(s, what, event)
  pl.log(s.handle .. " " .. what, event or "sysop", s)
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
    s:text("Kicked " .. targets[1].handle .. " (" .. #targets .. (#targets == 1 and " node)." or " nodes)."))
    logged(s, "kicked " .. targets[1].handle .. ": " .. why, "kick")
  end,
}

pl.command{
  name = "nodes", help = "Every node: handle, address, activity, room, idle, transport", sysop = true,
  run = function(s)
    local lines = { string.format("%-5s %-20s %-24s %-16s %-12s %-6s %s", "Node", "Handle", "Address", "Activity", "Room", "Idle", "Via") }
    for _, n in ipairs(pl.sessions()) do
      lines[#lines + 1] = string.format("%-5d %-20s %-24s %-16s %-12s %-6s %s", n.node, n.handle or "(logging in)",
        n.address, n.activity or "", n.room and ("#" .. n.room) or "-", n.idle .. "s", n.transport or "detached")
    end
    s:text(table.concat(lines, "\n"))
    logged(s, "listed the nodes")
  end,
}
