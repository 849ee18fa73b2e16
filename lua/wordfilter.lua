-- wordfilter.lua: a word filter built on pl.message_hook. Off by default:
-- set ENABLED = true and list the words; save, and it is live.
local ENABLED = false
local WORDS = { "darn", "heck" } -- matched as whole words, any case
local MODE = "mask"             -- "mask" replaces them with ****; "reject" refuses the line

if not ENABLED then return end

local function mask(body)
  local hit = false
  for _, word in ipairs(WORDS) do
    local any_case = pl.escape(word):gsub("%a", function(c) return "[" .. c:lower() .. c:upper() .. "]" end)
    local pattern = "%f[%w]" .. any_case .. "%f[%W]"
    body = body:gsub(pattern, function(w) hit = true return string.rep("*", #w) end)
  end
  return body, hit
end

pl.message_hook("50-wordfilter", function(s, msg)
  local clean, hit = mask(msg.body)
  if not hit then return nil end
  if MODE == "reject" then return { reject = "Please keep it friendly: that line was not sent." } end
  return { body = clean }
end)
