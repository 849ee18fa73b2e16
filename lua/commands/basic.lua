-- The basic chat commands. Each is one pl.command{}; /help lists them.
local c = pl.color

pl.command{
  name = "me", args = "<action>", help = "Act something out: /me waves",
  aliases = { "emote" },
  run = function(s, args, cmd)
    if args == "" then return pl.usage(s, cmd) end
    pl.chat.say(s, "action", args)
  end,
}

pl.command{
  name = "help", help = "List the commands",
  run = function(s)
    local names = {}
    for name, cmd in pairs(pl.commands) do
      if not cmd.alias_of and (not cmd.sysop or s.sysop) and pl.allowed(s, cmd.level) then names[#names + 1] = name end
    end
    table.sort(names)
    local lines = { c("bright_white", "Commands:") }
    for _, name in ipairs(names) do
      local cmd = pl.commands[name]
      local usage = "/" .. name .. (cmd.args ~= "" and (" " .. cmd.args) or "")
      lines[#lines + 1] = pl.hanging(s, string.format("  %-22s ", usage), cmd.help)
    end
    lines[#lines + 1] = "Anything else you type is said to the room."
    pl.page(s, table.concat(lines, "\n")) -- a screen at a time on a terminal
  end,
}

pl.command{
  name = "who", help = "Who is online and what each node is doing",
  run = function(s)
    local ev = pl.who_event(s)
    pl.page(s, ev.text, ev)
  end,
}

pl.command{
  name = "quit", help = "Leave chat for the main menu",
  aliases = { "q" },
  run = function(s) s:enter("menu") end,
}

pl.command{
  name = "reload", help = "Reload the scripts now (sysops)", sysop = true,
  run = function(s)
    if not pl.reload() then s:notice("Reload failed; the previous scripts keep running.") end
  end,
}
