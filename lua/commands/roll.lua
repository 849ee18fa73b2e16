-- /roll [NdS]: dice rolled by the board for the room to see (1d6 unless
-- told). The board announces the result (pl.chat.announce), so nobody can
-- fake a roll with /me, and it stays in the room's history.
pl.command{
  name = "roll", args = "[NdS]", help = "Roll dice for the room: /roll, /roll d20, /roll 3d6",
  run = function(s, args, cmd)
    local n, sides = (args == "" and "d6" or args):lower():match("^(%d*)d(%d+)$")
    n, sides = tonumber(n or "") or 1, tonumber(sides or "")
    if not sides or n < 1 or n > 20 or sides < 2 or sides > 1000 then return pl.usage(s, cmd) end
    local rolls, total = {}, 0
    for i = 1, n do
      rolls[i] = math.random(sides)
      total = total + rolls[i]
    end
    local result = table.concat(rolls, " + ") .. (n > 1 and (" = " .. total) or "")
    pl.chat.announce(s.room, s.handle .. " rolls " .. n .. "d" .. sides .. ": " .. result)
  end,
}
