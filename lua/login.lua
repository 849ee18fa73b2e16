-- login.lua: the login and registration prompts. Passwords are checked by
-- the core (argon2id, off the event loop); the answer comes back as
-- pl.hooks.auth (success, handled in init.lua) or login_failed below.

local PROMPT_HANDLE = "Handle (or 'new' to register): "
local HANDLE_RULES = "2-20 letters, digits, _ or -, with at least one letter"

-- The core decides which handles and passwords are acceptable (pl.check_handle,
-- pl.check_password, and again when registering); these are its reasons in words.
local HANDLE_PROBLEMS = {
  bad_handle = "That is not a valid handle: use " .. HANDLE_RULES .. ".",
  handle_taken = "That handle is taken; choose another.",
  handle_reserved = "That handle is reserved; choose another.",
}

local function password_min() return tonumber(pl.config("password_min")) or 8 end

local function choose_prompt()
  return "Choose a password (at least " .. password_min() .. " characters): "
end

local WEAK = {
  too_short = function() return "Too short: at least " .. password_min() .. " characters." end,
  too_long = function() return "Too long: at most 1024 bytes." end,
  repetitive = function() return "That only repeats itself; choose something less predictable." end,
  sequential = function() return "That is a plain sequence; choose something less predictable." end,
  context = function() return "That is your handle or this system's name; choose something else." end,
  common = function() return "That is one of the most common passwords; choose another." end,
}

-- The words for a weak password (pl.check_password's reason).
function pl.weak_password_text(reason)
  local f = WEAK[reason]
  return f and f() or "That password is too weak; choose another."
end

local function ask_handle(s)
  s.login = { step = "handle" }
  s:prompt(PROMPT_HANDLE)
end

local failures = {
  bad_login = "Wrong handle or password.",
  handle_taken = HANDLE_PROBLEMS.handle_taken,
  handle_reserved = HANDLE_PROBLEMS.handle_reserved,
  bad_handle = HANDLE_PROBLEMS.bad_handle,
  weak_password = "That password is too weak; choose another.",
  locked = "This account is locked. Ask the sysop.",
  closed = "Registration is closed on this system.",
  busy = "One moment, still checking the last attempt.",
  unavailable = "The system cannot reach its user records right now. Please try again in a little while.",
  register_limited = "Too many new accounts have been made from your address lately. Please try again later.",
}

local steps = {}

function steps.handle(s, line)
  if line == "" then return s:prompt(PROMPT_HANDLE) end
  if line:lower() == "new" then
    if pl.config("registration") ~= "yes" then
      s:notice("Registration is closed on this system.")
      return s:prompt(PROMPT_HANDLE)
    end
    s.login = { step = "new_handle" }
    s:text("Choose a handle: " .. HANDLE_RULES .. ".")
    return s:prompt("New handle: ")
  end
  s.login = { step = "password", handle = line }
  s:prompt("Password: ", true)
end

function steps.password(s, line)
  s.login.step = "wait"
  pl.login(s, s.login.handle, line)
end

function steps.new_handle(s, line)
  local problem = pl.check_handle(line)
  if problem then
    s:notice(HANDLE_PROBLEMS[problem] or HANDLE_PROBLEMS.bad_handle)
    return s:prompt("New handle: ")
  end
  -- the board's own rules (`register` listeners), before a password is asked
  -- for; the core asks them again when it makes the account
  local verdict = pl.hooks.register(s, line)
  if verdict ~= true then
    s.refusal = nil
    s:notice(verdict == false and failures.unavailable or verdict)
    return s:prompt("New handle: ")
  end
  s.login = { step = "new_password", handle = line }
  s:prompt(choose_prompt(), true)
end

function steps.new_password(s, line)
  local weak = pl.check_password(s.login.handle, line)
  if weak then
    s:notice(pl.weak_password_text(weak))
    return s:prompt(choose_prompt(), true)
  end
  s.login.password = line
  s.login.step = "confirm"
  s:prompt("Repeat the password: ", true)
end

function steps.confirm(s, line)
  local pw = s.login.password
  s.login.password = nil
  if line ~= pw then
    s:notice("The passwords do not match.")
    s.login.step = "new_password"
    return s:prompt(choose_prompt(), true)
  end
  s.login.step = "wait"
  pl.register(s, s.login.handle, pw)
end

-- Waiting for the core's answer to pl.login or pl.register. A wait with
-- nothing being checked (the answer came and a script failed on it) ends
-- here: the user is never left at "One moment" for good.
function steps.wait(s)
  if s.checking then return s:notice("One moment, checking...") end
  if s.handle then return pl.hooks.recover(s, "input") end -- logged in: the welcome was cut short
  ask_handle(s)
end


pl.service{
  id = "login",
  activity = "Logging in",
  enter = function(s, how)
    s:text(pl.banner(s))
    -- over SSH as `new`: straight to choosing a handle, as if `new` was typed
    if how == "register" then return steps.handle(s, "new") end
    ask_handle(s)
  end,
  input = function(s, line)
    local step = s.login and steps[s.login.step] or steps.handle
    step(s, line)
  end,
  login_failed = function(s, code)
    if code == "throttled" then
      s:send{ type = "bye", reason = "throttled", text = "Too many failed attempts. Goodbye." }
      return pl.logoff(s)
    end
    local words = code == "handle_reserved" and s.refusal or failures[code] -- a register listener's own
    s.refusal = nil
    s:notice(words or ("Login failed (" .. code .. ")."))
    if code == "handle_taken" or code == "bad_handle" or code == "handle_reserved" then
      s.login = { step = "new_handle" }
      return s:prompt("New handle: ")
    end
    ask_handle(s)
  end,
  leave = function(s) s.login = nil end,
  -- after a failure (the banner, a step, the words for a refusal): a fresh prompt
  recover = function(s) ask_handle(s) end,
}
