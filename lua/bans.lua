-- bans.lua: sysops ban a handle or an address, for a while or for good.
-- A banned handle cannot log in (by password or token; banning it also
-- revokes its tokens); a banned address cannot connect at all. Kept in the
-- database, so bans survive restarts. The core holds a copy of the address
-- bans (pl.set_address_bans) and refuses them at accept, before any login or
-- resume; pl.hooks.banned below gives the words a telnet caller sees.
-- /ban, /unban and /bans are sysop commands (lua/commands/sysop.lua).

pl.db.exec([[CREATE TABLE IF NOT EXISTS s_bans (
  kind TEXT NOT NULL,          -- 'handle' or 'address'
  target TEXT NOT NULL,        -- lowercase handle, or an address ('10.1.2.*' matches a prefix)
  until_ms INTEGER NOT NULL,   -- 0: until lifted
  reason TEXT NOT NULL,
  by TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (kind, target))]])

pl.bans = {}

-- "30m", "2h", "7d", "1w" -> milliseconds; nil when it is not a duration.
local UNITS = { s = 1000, m = 60000, h = 3600000, d = 86400000, w = 7 * 86400000 }
function pl.bans.duration(word)
  local n, unit = (word or ""):match("^(%d+)([smhdw])$")
  if not n then return nil end
  return tonumber(n) * UNITS[unit]
end

-- What a ban target is: an address has dots or colons, a handle never does.
function pl.bans.kind_of(target)
  return target:find("[.:*]") and "address" or "handle"
end

-- The ban in force on exactly this handle or address pattern, or nil.
function pl.bans.get(kind, target)
  local rows = pl.db.query("SELECT * FROM s_bans WHERE kind = ? AND target = ?", kind, target:lower())
  local b = rows[1]
  if b and b.until_ms ~= 0 and b.until_ms <= pl.now() then
    pl.db.exec("DELETE FROM s_bans WHERE kind = ? AND target = ?", kind, b.target)
    return nil
  end
  return b
end

-- Whether an address pattern (lowercase; "10.1.2.*" is a prefix) covers address.
function pl.bans.matches(pattern, address)
  -- IPv4 over an IPv6 socket shows as ::ffff:1.2.3.4; bans name the IPv4 one
  address = address:lower():gsub("^::ffff:(%d+%.)", "%1")
  if pattern:sub(-1) == "*" then return address:sub(1, #pattern - 1) == pattern:sub(1, -2) end
  return pattern == address
end

-- The ban that applies to this address, if any.
function pl.bans.for_address(address)
  local now = pl.now()
  for _, b in ipairs(pl.db.query("SELECT * FROM s_bans WHERE kind = 'address' AND (until_ms = 0 OR until_ms > ?)", now)) do
    if pl.bans.matches(b.target, address) then return b end
  end
  return nil
end

function pl.bans.for_handle(handle) return pl.bans.get("handle", handle) end

-- Hands the address bans in force to the core, which checks them at accept.
function pl.bans.push()
  pl.set_address_bans(pl.db.query("SELECT target, until_ms FROM s_bans WHERE kind = 'address' AND (until_ms = 0 OR until_ms > ?)", pl.now()))
end

-- Stores a ban and returns it; nothing is enforced yet (pl.bans.enforce).
-- /ban sends the users it hits away in between, so that they read why
-- before the core closes what comes from a banned address.
function pl.bans.store(kind, target, ms, reason, by)
  local b = { kind = kind, target = target:lower(), until_ms = ms and (pl.now() + ms) or 0, reason = reason, by = by,
    created = pl.iso_time() }
  pl.db.exec([[INSERT INTO s_bans(kind, target, until_ms, reason, by, created) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT(kind, target) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason, by = excluded.by,
    created = excluded.created]],
    b.kind, b.target, b.until_ms, b.reason, b.by, b.created)
  return b
end

-- Enforces a stored ban everywhere: an address on every process of the
-- board, a handle's tokens revoked.
function pl.bans.enforce(kind, target)
  if kind == "address" then pl.emit_board("bans_changed") else pl.revoke_tokens(target) end
end

function pl.bans.add(kind, target, ms, reason, by)
  local b = pl.bans.store(kind, target, ms, reason, by)
  pl.bans.enforce(kind, target)
  return b
end

function pl.bans.remove(target)
  local kind = pl.bans.kind_of(target)
  local n = pl.db.exec("DELETE FROM s_bans WHERE kind = ? AND target = ?", kind, target:lower())
  if kind == "address" then pl.emit_board("bans_changed") end
  return n > 0
end

function pl.bans.list()
  return pl.db.query("SELECT * FROM s_bans WHERE until_ms = 0 OR until_ms > ? ORDER BY created", pl.now())
end

-- "until 2026-11-23 14:05 UTC" or "until lifted"
function pl.bans.until_text(b)
  if b.until_ms == 0 then return "until lifted" end
  return "until " .. os.date("!%Y-%m-%d %H:%M UTC", b.until_ms // 1000)
end

local function banned_text(b)
  if not b then return "You are banned from this system." end
  return "You are banned from this system " .. pl.bans.until_text(b) .. (b.reason ~= "" and (": " .. b.reason) or ".")
end

-- Sends a banned session away.
function pl.bans.refuse(s, b)
  s:send{ type = "bye", reason = "banned", text = banned_text(b) }
  pl.logoff(s)
end

-- A banned handle is sent away as it logs in (by password or token).
pl.on("admit", function(s)
  local ban = pl.bans.for_handle(s.handle)
  if ban then pl.bans.refuse(s, ban) end
end)

-- What a telnet caller from a banned address reads before the core hangs up
-- (a WebSocket is closed with 1008 "banned"; the web page words that itself).
function pl.hooks.banned(address)
  return banned_text(pl.bans.for_address(address))
end

pl.bans.push()
-- every process of the board enforces the same list (pl.emit_board runs
-- this here and on the others)
pl.on("bans_changed", function() pl.bans.push() end)
