-- login.lua: the login and registration prompts. Passwords are checked by
-- the core (argon2id, off the event loop); the answer comes back as
-- pl.hooks.auth (success, handled in init.lua) or login_failed below.

local PROMPT_HANDLE = "Handle (or 'new' to register): "

local function ask_handle(s)
  s.login = { step = "handle" }
  s:prompt(PROMPT_HANDLE)
end

local steps = {}

function steps.handle(s, line)
  if line == "" then return s:prompt(PROMPT_HANDLE) end
  if line:lower() == "new" then
    if pl.config("registration") ~= "yes" then
      s:notice("Registration is closed on this system.")
      return s:prompt(PROMPT_HANDLE)
    end
    s.login = { step = "new_handle" }
    s:text("Choose a handle: 2-20 letters, digits, _ or -.")
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
  if not pl.valid_handle(line) then
    s:notice("That is not a valid handle: use 2-20 letters, digits, _ or -.")
    return s:prompt("New handle: ")
  end
  s.login = { step = "new_password", handle = line }
  s:prompt("Choose a password (at least 6 characters): ", true)
end

function steps.new_password(s, line)
  if #line < 6 then
    s:notice("Too short: at least 6 characters.")
    return s:prompt("Choose a password (at least 6 characters): ", true)
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
    return s:prompt("Choose a password (at least 6 characters): ", true)
  end
  s.login.step = "wait"
  pl.register(s, s.login.handle, pw)
end

function steps.wait(s) s:notice("One moment, checking...") end

local failures = {
  bad_login = "Wrong handle or password.",
  handle_taken = "That handle is taken; choose another.",
  bad_handle = "That is not a valid handle: use 2-20 letters, digits, _ or -.",
  weak_password = "That password is too weak: at least 6 characters, not your handle.",
  closed = "Registration is closed on this system.",
  busy = "One moment, still checking the last attempt.",
  unavailable = "The system cannot reach its user records right now. Please try again in a little while.",
  register_limited = "Too many new accounts have been made from your address lately. Please try again later.",
}

pl.service{
  id = "login",
  activity = "Logging in",
  enter = function(s)
    s:text(pl.banner(s))
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
    s:notice(failures[code] or ("Login failed (" .. code .. ")."))
    if code == "handle_taken" or code == "bad_handle" then
      s.login = { step = "new_handle" }
      return s:prompt("New handle: ")
    end
    ask_handle(s)
  end,
  leave = function(s) s.login = nil end,
}
