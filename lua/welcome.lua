-- welcome.lua: the banner every new connection sees first.
local c = pl.color

function pl.banner(s)
  return table.concat({
    c("bright_blue", "  ____            _         _ _            "),
    c("bright_blue", " |  _ \\ __ _ _ __| |_ _   _| (_)_ __   ___ "),
    c("bright_cyan", " | |_) / _` | '__| __| | | | | | '_ \\ / _ \\"),
    c("bright_cyan", " |  __/ (_| | |  | |_| |_| | | | | | |  __/"),
    c("cyan",        " |_|   \\__,_|_|   \\__|\\__, |_|_|_| |_|\\___|"),
    c("cyan",        "                      |___/              "),
    "",
    "Welcome to " .. c("bright_white", pl.server.name) .. " (partyline " .. pl.server.version .. "). You are on node " .. s.node .. ".",
    "",
  }, "\n")
end
