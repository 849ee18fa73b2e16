-- Private messages and paging.

-- What happens beside the recipient's own session, on whichever process of
-- the board it lives (pl.emit_to): their ignore list decides, and /r answers
-- the last person who wrote. Someone who ignores the sender gets nothing;
-- the sender is not told, so ignoring stays private.
pl.on("direct_to", function(t, from, to, body)
  if pl.ignoring(t, from) then return end
  t:send(pl.chat_event("direct", { from = from, to = to, body = body }, t))
  t:bell()
  t.reply_to = from
end)

pl.on("page_to", function(t, from, to, node)
  if pl.ignoring(t, from) then return end
  t:send(pl.chat_event("page", { from = from, to = to, node = node }, t))
  t:bell()
end)

-- A private message to every node the target is on, echoed to the sender.
local function send_direct(s, targets, body)
  local to = targets[1].handle
  body = pl.check_message(s, { kind = "direct", body = body, to = to })
  if not body then return end
  for _, t in ipairs(targets) do pl.emit_to(t, "direct_to", s.handle, to, body) end
  s:send(pl.chat_event("direct", { from = s.handle, to = to, body = body }, s))
end

-- pl.chat.tell(s, handle, body): a private message from s (a user or a bot)
-- to whoever is on under handle, as /msg sends it (message hooks, ignore
-- lists, the echo to s). Returns false when nobody is on under it.
function pl.chat.tell(s, handle, body)
  local targets = pl.sessions_of(handle)
  if #targets == 0 then return false end
  send_direct(s, targets, body)
  return true
end

-- The target is not on: offer to send the message as mail instead (the
-- chat service takes the answer, see pl.chat.answer_offer).
local function offer_mail(s, handle, body)
  local acct = pl.account(handle)
  if not acct or not pl.mail then return s:notice("Nobody called " .. handle .. " is online.") end
  s.offer = { to = acct.handle, body = body }
  s:prompt(acct.handle .. " is not online. Send it as mail instead? [y/N] ")
end

function pl.chat.answer_offer(s, line)
  local offer = s.offer
  s.offer = nil
  local answer = (line:match("^%s*(%a*)%s*$") or "?"):lower()
  if answer == "y" or answer == "yes" then
    local subject, cut = pl.cut(offer.body, 40)
    if cut then subject = subject .. "..." end
    local ok, id, why = pcall(pl.mail.send, s.handle, offer.to, subject, offer.body)
    if not ok then
      if not pl.db.unavailable(id) then error(id, 0) end
      s:notice("Not sent: the system cannot store mail right now. Please try again later.")
    elseif not id and why ~= "ignored" then
      s:notice(pl.mail.refusal(offer.to, why))
    else
      s:text("Sent to " .. offer.to .. " as mail.")
    end
    return true
  end
  s:text("Not sent.")
  return answer == "n" or answer == "no" or answer == "" -- anything else is a line of its own
end

pl.command{
  name = "msg", args = "<handle> <text>", help = "Send a private message",
  aliases = { "tell" },
  run = function(s, args, cmd)
    local handle, body = pl.split_first(args)
    if not handle or body == "" then return pl.usage(s, cmd) end
    local targets = pl.sessions_of(handle)
    if #targets == 0 then return offer_mail(s, handle, body) end
    send_direct(s, targets, body)
  end,
}

pl.command{
  name = "r", args = "<text>", help = "Reply to the last private message",
  aliases = { "reply" },
  run = function(s, args, cmd)
    if args == "" then return pl.usage(s, cmd) end
    if not s.reply_to then return s:notice("Nobody has sent you a private message yet.") end
    local targets = pl.sessions_of(s.reply_to)
    if #targets == 0 then return offer_mail(s, s.reply_to, args) end
    send_direct(s, targets, args)
  end,
}

pl.command{
  name = "page", args = "<handle>", help = "Ring someone's bell",
  run = function(s, args, cmd)
    local handle = pl.split_first(args)
    if not handle then return pl.usage(s, cmd) end
    local targets = pl.sessions_of(handle)
    if #targets == 0 then return s:notice("Nobody called " .. handle .. " is online.") end
    local to = targets[1].handle
    for _, t in ipairs(targets) do pl.emit_to(t, "page_to", s.handle, to, s.node) end
    s:send(pl.chat_event("page", { from = s.handle, to = to, node = s.node }, s))
  end,
}
