-- art.lua: ANSI art from the sysop's art_dir (NAME.ans: CP437 with ANSI
-- colours, a SAUCE record read and not shown). pl.art_text plays a file
-- into lines of UTF-8 and colour codes; the telnet side writes them in the
-- terminal's character set (a CP437 terminal gets the picture's own bytes)
-- and drops the colour for a terminal without any; the web page gets the
-- same text in a `text` event and draws it as a terminal does.

-- The widest line of text, in columns.
local function widest(text)
  local w = 0
  for line in (text .. "\n"):gmatch("(.-)\n") do w = math.max(w, pl.text.width(line)) end
  return w
end

-- pl.art(s, name): shows art_dir/name.ans to s, a screen at a time on a
-- terminal (pl.page). Returns true, or false and why ("bad_name",
-- "not_found", "too_big", "unreadable", or "too_wide": the picture is
-- wider than the user's terminal, where it would wrap into a mess).
function pl.art(s, name)
  local text, info = pl.art_text(name)
  if not text then return false, info end
  local cols = s.terminal and s.terminal.cols
  if cols and widest(text) > cols then return false, "too_wide" end
  pl.page(s, text, { type = "text", art = name })
  return true
end

-- The welcome picture (art_dir/welcome.ans) as text for s's terminal, or
-- nil when there is none or it would not fit: the banner uses it.
function pl.art_for(s, name)
  local ok, text = pcall(pl.art_text, name)
  if not ok or not text then return nil end
  local cols = s.terminal and s.terminal.cols
  if cols and widest(text) > cols then return nil end
  return text
end
