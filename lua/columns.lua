-- columns.lua: tables that fit the user's screen. Every table the board
-- shows (/who, /nodes, /bans, ...) is laid out here: columns as wide as
-- what is in them, then the widest narrowed (cut with pl.text.fit) until
-- the table fits the terminal's width (NAWS), 80 columns where the width
-- is not known (the web page).

-- The width to lay out for: the terminal's, else 80; never under 20.
function pl.screen_cols(s)
  local cols = s and s.terminal and s.terminal.cols
  return math.max(20, math.min(cols or 80, 200))
end

-- pl.columns(s, head, rows[, opts]): the table as lines (a string joined
-- by "\n"). head: { {title, min = n, optional = true}, ... } (min: the
-- narrowest the column may become, default its title's width; optional:
-- left out, from the right, when the table cannot fit with it); rows:
-- arrays of cells (strings, or anything tostring takes). opts.width: lay
-- out for this width instead of s's screen. The last column is not padded.
function pl.columns(s, head, rows, opts)
  -- one column short of the screen: some terminals wrap at the last one
  local width = opts and opts.width or (pl.screen_cols(s) - 1)
  local n = #head
  local w, min, use = {}, {}, {}
  for i, h in ipairs(head) do
    w[i] = pl.text.width(h[1])
    min[i] = h.min or w[i]
    use[i] = true
  end
  for _, r in ipairs(rows) do
    for i = 1, n do w[i] = math.max(w[i], pl.text.width(tostring(r[i] or ""))) end
  end
  for i = 1, n do min[i] = math.min(min[i], w[i]) end
  local function total()
    local t, k = -1, 0
    for i = 1, n do
      if use[i] then t, k = t + 1 + w[i], k + 1 end
    end
    return t
  end
  local function fits_at_min()
    local t = -1
    for i = 1, n do
      if use[i] then t = t + 1 + min[i] end
    end
    return t <= width
  end
  while not fits_at_min() do -- leave out optional columns, from the right
    local drop
    for i = n, 1, -1 do
      if use[i] and head[i].optional then drop = i break end
    end
    if not drop then break end
    use[drop] = false
  end
  local t = total()
  while t > width do -- narrow the widest column that may still give
    local pick
    for i = 1, n do
      if use[i] and w[i] > min[i] and (not pick or w[i] >= w[pick]) then pick = i end -- ties: the later column gives
    end
    if not pick then break end
    w[pick] = w[pick] - 1
    t = t - 1
  end
  local last = 0
  for i = 1, n do
    if use[i] then last = i end
  end
  local function line(cells)
    local out = {}
    for i = 1, n do
      if use[i] then out[#out + 1] = pl.text.fit(tostring(cells[i] or ""), w[i], i < last) end
    end
    return (table.concat(out, " "):gsub("%s+$", ""))
  end
  local titles = {}
  for i, h in ipairs(head) do titles[i] = h[1] end
  local lines = { line(titles) }
  for _, r in ipairs(rows) do lines[#lines + 1] = line(r) end
  return table.concat(lines, "\n")
end

-- pl.hanging(s, lead, text[, indent]): lead then text wrapped to the
-- screen, the lines after the first indented to where the text began (or
-- by indent): a list of "name  description" that reads on any width.
function pl.hanging(s, lead, text, indent)
  local width = pl.screen_cols(s)
  local at = indent or pl.text.width(lead)
  if at > width // 2 then -- a long lead: the text on lines of its own below it
    local out = { lead }
    for _, l in ipairs(pl.text.wrap(text, width - 4)) do out[#out + 1] = "    " .. l end
    return table.concat(out, "\n")
  end
  local wrapped = pl.text.wrap(text, width - at)
  local out = { lead .. (wrapped[1] or "") }
  for i = 2, #wrapped do out[#out + 1] = string.rep(" ", at) .. wrapped[i] end
  return table.concat(out, "\n")
end
