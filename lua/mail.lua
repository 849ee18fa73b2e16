-- mail.lua: private mail between users, kept in the database. The Mail
-- service in the main menu has the inbox (unread marked), reading, replying,
-- deleting and writing; the editor takes lines until a "." alone and
-- /abort cancels. Logging in says "You have N new messages", and /msg to
-- someone offline offers to send it as mail (lua/commands/private.lua).
--
-- The web client keeps its mail panel up to date from `mail` events:
--   { type = "mail", unread = N, messages = [{id, n, from, subject, ts, unread}] }
local c = pl.color

local MAX_LINES = 100      -- lines in one message
local MAX_SUBJECT = 60      -- characters
-- Sizes come from the configuration: mail_max_bytes (one message),
-- mailbox_max and mailbox_max_kb (what one user's mailbox holds). A full
-- mailbox refuses new mail (the sender is told); nothing of the
-- recipient's is ever deleted to make room.
local function setting(key, default) return tonumber(pl.config(key) or "") or default end

pl.db.exec([[CREATE TABLE IF NOT EXISTS s_mail (
  id INTEGER PRIMARY KEY,
  to_key TEXT NOT NULL,
  to_handle TEXT NOT NULL,
  from_handle TEXT NOT NULL,
  ts TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  unread INTEGER NOT NULL DEFAULT 1)]])
pl.db.exec("CREATE INDEX IF NOT EXISTS s_mail_to ON s_mail(to_key, id)")

pl.mail = {}

function pl.mail.inbox(handle)
  return pl.db.query("SELECT id, from_handle, ts, subject, unread FROM s_mail WHERE to_key = ? ORDER BY id", handle:lower())
end

function pl.mail.unread(handle)
  return pl.db.query("SELECT count(*) AS n FROM s_mail WHERE to_key = ? AND unread = 1", handle:lower())[1].n
end

local function get(s, id)
  return pl.db.query("SELECT * FROM s_mail WHERE id = ? AND to_key = ?", id, s.handle:lower())[1]
end

local function when(ts) return ts:sub(1, 10) .. " " .. ts:sub(12, 16) end

-- The `mail` event: the inbox as data for clients, with text (may be nil).
function pl.mail.event(s, text)
  local list = {}
  for i, m in ipairs(pl.mail.inbox(s.handle)) do
    list[#list + 1] = { id = m.id, n = i, from = m.from_handle, subject = m.subject, ts = m.ts, unread = m.unread == 1 }
  end
  local unread = 0
  for _, m in ipairs(list) do if m.unread then unread = unread + 1 end end
  return { type = "mail", unread = unread, messages = pl.array(list), text = text }
end

-- At login, when there is new mail: the count, and the inbox for clients.
function pl.mail.announce(s)
  local n = pl.mail.unread(s.handle)
  local text = n > 0 and c("bright_green", "You have " .. n .. " new " .. (n == 1 and "message" or "messages") ..
    ".") .. " Read " .. (n == 1 and "it" or "them") .. " from the Mail menu." or nil
  if n == 0 then return end -- nothing to say, and nothing held per idle session
  s:send(pl.mail.event(s, text))
  s:bell()
end
pl.on("login", function(s) pl.mail.announce(s) end)

-- Why mail was not sent, in words for the sender.
function pl.mail.refusal(to, why)
  if why == "full" then return to .. "'s mailbox is full, so the message was not sent." end
  if why == "too_big" then return "The message is over " .. setting("mail_max_bytes", 16384) .. " bytes, so it was not sent." end
  return "The message was not sent."
end

-- Stores a message and tells the recipient if they are on. to is a handle
-- with an account; returns the message id, or nil and why: "too_big",
-- "full" (the recipient's mailbox), or "ignored" (the recipient ignores the
-- sender, who is not told). Raises when storage is unavailable
-- (pl.db.unavailable): the caller keeps the message and says so.
function pl.mail.send(from, to, subject, body)
  if #body + #subject > setting("mail_max_bytes", 16384) then return nil, "too_big" end
  -- someone who ignores the sender never gets it; the sender is not told
  if pl.ignores and pl.ignores.has(to, from) then return nil, "ignored" end
  local box = pl.db.query("SELECT count(*) AS n, coalesce(sum(length(body) + length(subject)), 0) AS bytes FROM s_mail WHERE to_key = ?",
    to:lower())[1]
  if box.n >= setting("mailbox_max", 200) or box.bytes + #body + #subject > setting("mailbox_max_kb", 1024) * 1024 then
    pl.log("mail from " .. from .. " to " .. to .. " refused: mailbox full", "mail_refused")
    return nil, "full"
  end
  local _, id = pl.db.exec("INSERT INTO s_mail(to_key, to_handle, from_handle, ts, subject, body) VALUES (?, ?, ?, ?, ?, ?)",
    to:lower(), to, from, pl.iso_time(), subject, body)
  for _, t in ipairs(pl.sessions_of(to)) do
    t:send(pl.chat_event("system", { body = "New mail from " .. from .. ": " .. subject }))
    t:send(pl.mail.event(t))
    t:bell()
  end
  return id
end

------------------------------------------------------------------ the service

local function inbox(s)
  s.mail = { view = "inbox" }
  local ev = pl.mail.event(s)
  local lines = { c("bright_white", "== Mail ==") }
  if #ev.messages == 0 then
    lines[#lines + 1] = "Your mailbox is empty."
  else
    local rows = {} -- laid out to fit the screen (pl.columns): "*" marks the unread
    for _, m in ipairs(ev.messages) do
      rows[#rows + 1] = { (m.unread and c("bright_green", "*") or " ") .. " " .. m.n, m.from, when(m.ts), m.subject }
    end
    lines[#lines + 1] = pl.columns(s, { { "  #" }, { "From", min = 8 }, { "Date", min = 11 }, { "Subject", min = 10 } }, rows)
    lines[#lines + 1] = ev.unread .. " unread. Type a message's number to read it."
  end
  ev.text = nil
  s:send(ev) -- the data, for clients with a mail panel
  local term = s.terminal
  if term and term.rows and #lines + #ev.messages + 6 > term.rows then -- the table is one entry of lines
    -- a long inbox on a terminal: the list a screen at a time, then the menu
    pl.page(s, table.concat(lines, "\n"))
    lines = {}
  end
  s:menu("mail", "Mail", lines, {
    { key = "C", label = "Compose" },
    { key = "D", label = "Delete (D and a number)" },
    { key = "Q", label = "Back to the main menu" },
  }, { lines = true }) -- it takes numbers too: lines
end

-- The n-th message of the inbox (as listed), or nil.
local function nth(s, n)
  local m = pl.mail.inbox(s.handle)[n]
  return m and get(s, m.id), n
end

local function read(s, n)
  local m = nth(s, n)
  if not m then
    s:notice("There is no message " .. tostring(n) .. ".")
    return inbox(s)
  end
  s.mail = { view = "read", n = n, id = m.id }
  local head = {
    c("bright_white", "Message " .. n) .. "  from " .. c("bright_cyan", m.from_handle) .. ", " .. when(m.ts) .. " UTC",
    "Subject: " .. m.subject,
    "",
  }
  s:send{ type = "mail_message", id = m.id, n = n, from = m.from_handle, subject = m.subject, ts = m.ts, body = m.body,
    text = table.concat(head, "\n") .. "\n" .. m.body }
  if m.unread == 1 then
    pl.db.exec("UPDATE s_mail SET unread = 0 WHERE id = ?", m.id)
    s:send(pl.mail.event(s)) -- the new unread count, for clients
  end
  s:menu("mail_read", "Message " .. n, {}, {
    { key = "R", label = "Reply" },
    { key = "D", label = "Delete" },
    { key = "N", label = "Next message" },
    { key = "I", label = "Inbox" },
  })
end

local function delete(s, n)
  local m = nth(s, n)
  if not m then
    s:notice("There is no message " .. tostring(n) .. ".")
  else
    pl.db.exec("DELETE FROM s_mail WHERE id = ?", m.id)
    s:text("Message " .. n .. " deleted.")
  end
  inbox(s)
end

local function editor_prompt(s) s:prompt(string.format("%3d: ", #s.mail.lines + 1)) end

-- Starts writing. to and subject may be given (a reply); body may be too
-- (an offline /msg); the steps still missing are asked for.
function pl.mail.compose(s, to, subject, back)
  s.mail = { view = "compose", to = to, subject = subject, lines = {}, back = back or "inbox" }
  if not to then return s:prompt("To (a handle): ") end
  if not subject then return s:prompt("Subject: ") end
  s:text("Write your message. A line with only " .. c("bright_white", ".") .. " sends it; " ..
    c("bright_white", "/abort") .. " throws it away.")
  editor_prompt(s)
end

local function finish(s)
  local m = s.mail
  if m.back == "menu" then return s:enter("menu") end
  inbox(s)
end

local function compose_input(s, line)
  local m = s.mail
  if line == "/abort" then
    s:text("Message thrown away.")
    return finish(s)
  end
  if not m.to then
    local handle = pl.split_first(line)
    if not handle then return finish(s) end -- nothing typed: back out
    local acct = pl.account(handle)
    if not acct then
      s:notice("There is no user called " .. handle .. ".")
      return s:prompt("To (a handle): ")
    end
    return pl.mail.compose(s, acct.handle, nil, m.back)
  end
  if not m.subject then
    local subject = line:match("^%s*(.-)%s*$")
    if subject == "" then subject = "(no subject)" end
    return pl.mail.compose(s, m.to, (pl.cut(subject, MAX_SUBJECT)), m.back)
  end
  if line == "." then
    if #m.lines == 0 then
      s:text("Nothing written; nothing sent.")
      return finish(s)
    end
    local ok, id, why = pcall(pl.mail.send, s.handle, m.to, m.subject, table.concat(m.lines, "\n"))
    if not ok then
      if not pl.db.unavailable(id) then error(id, 0) end
      -- the message stays in the editor: nothing typed is lost
      s:notice("The message could not be sent: the system cannot store mail right now. It is kept; type . to try again later, or /abort.")
      return editor_prompt(s)
    end
    if not id and why ~= "ignored" then
      s:notice(pl.mail.refusal(m.to, why) .. " It is kept; type . to try again later, or /abort.")
      return editor_prompt(s)
    end
    s:text("Mail sent to " .. m.to .. ".")
    pl.log(s.handle .. " mailed " .. m.to, "mail", s)
    return finish(s)
  end
  local size = #m.subject
  for _, l in ipairs(m.lines) do size = size + #l + 1 end
  local max = setting("mail_max_bytes", 16384)
  if size + #line > max then
    s:notice("That line does not fit: one message holds " .. max .. " bytes. Type . to send what you have, or /abort.")
    return editor_prompt(s)
  end
  m.lines[#m.lines + 1] = line
  if #m.lines >= MAX_LINES then
    s:notice("That is the most one message can hold (" .. MAX_LINES .. " lines); type . to send it or /abort.")
  end
  if #m.lines > MAX_LINES then m.lines[#m.lines] = nil end
  editor_prompt(s)
end

pl.service{
  id = "mail",
  activity = "Reading mail",
  enter = function(s) inbox(s) end,
  input = function(s, line)
    local m = s.mail or { view = "inbox" }
    if m.view == "compose" then return compose_input(s, line) end
    local key, rest = (line:match("^%s*(%S)") or ""):upper(), line:match("^%s*%S%s*(.-)%s*$") or ""
    if m.view == "read" then
      if key == "R" then
        local orig = get(s, m.id)
        if not orig then return inbox(s) end
        local subject = orig.subject:match("^[Rr]e: ") and orig.subject or ("Re: " .. orig.subject)
        if not pl.account(orig.from_handle) then
          s:notice(orig.from_handle .. " no longer has an account here.")
          return inbox(s)
        end
        return pl.mail.compose(s, orig.from_handle, (pl.cut(subject, MAX_SUBJECT)))
      elseif key == "D" then return delete(s, m.n)
      elseif key == "N" then
        if m.n >= #pl.mail.inbox(s.handle) then s:text("That was the last message."); return inbox(s) end
        return read(s, m.n + 1)
      end
      return inbox(s)
    end
    local n = tonumber(line:match("^%s*(%d+)%s*$"))
    if n then return read(s, n) end
    if key == "C" then return pl.mail.compose(s) end
    if key == "D" then
      local which = tonumber(rest)
      if not which then s:notice("Which one? Type D and the message's number, as in D 2.") return inbox(s) end
      return delete(s, which)
    end
    if key == "Q" then return s:enter("menu") end
    inbox(s)
  end,
  leave = function(s) s.mail = nil end,
  recover = function(s) inbox(s) end,
}

pl.menu_item{ key = "M", label = "Mail", order = 25, service = "mail" }
