-- welcome.lua: the banner every new connection sees first: the sysop's
-- welcome picture (art_dir/welcome.ans, see art.lua) when there is one that
-- fits the terminal, else the board's name in letters.
local c = pl.color

function pl.banner(s)
  local art = pl.art_for and pl.art_for(s, "welcome")
  if art then
    return art .. "\n\nWelcome to " .. c("bright_white", pl.server.name) .. " (partyline " .. pl.server.version ..
      "). You are on node " .. s.node .. ".\n"
  end
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
