-- 0002: settings:<id> JSON documents, schema v1 -> v2.
--
--   v1 {"user_id":1,"theme":"dark","font_size":12,"notify_email":1,"legacy_flag":true,"locale":"fr-FR",...}
--   v2 {"user_id":1,"locale":"fr-FR",...,"notifications":{"email":true},"ui":{"font_size":12,"theme":"dark"}}
--
-- theme and font_size move into a nested "ui" object, notify_email (0/1 from
-- old clients, true/false from newer ones) becomes notifications.email (a
-- boolean), and the deprecated legacy_flag is dropped.
--
-- Every other field comes out byte for byte as it went in, in its original
-- place: keyshift's json module remembers each document's key order and the
-- exact text of its numbers, so "account_id":9007199254740995 (more than 2^53:
-- a double cannot hold it) and "seat_price":1.50 survive unchanged. New keys
-- (ui, notifications) are appended after the original ones, sorted.

-- The v1 fields this migration consumes.
local V1_FIELDS = { "theme", "font_size", "notify_email", "legacy_flag" }

local function is_v1(doc)
  for _, field in ipairs(V1_FIELDS) do
    if doc[field] ~= nil then return true end
  end
  return false
end

local function truthy(v)
  return v == true or v == 1 or v == "1" or v == "true"
end

return {
  description = "settings:* JSON: theme/font_size -> ui.*, notify_email -> notifications.email, drop legacy_flag",
  owner       = "web-team",
  expected    = "no settings:* document has a top-level theme, font_size, notify_email or legacy_flag",
  rollback    = "keyshift down; settings pages read both shapes until this is final",

  -- settings:* keys are plain strings holding one JSON document each.
  scan = { match = "settings:*", type = "string", batch = 200 },

  transform = function(key, value)
    -- A malformed document raises "json: <reason> at byte N"; keyshift
    -- reports it with this file, the line and the key, and writes nothing.
    local doc = json.decode(value)
    if not is_v1(doc) then return nil end  -- already v2

    -- Keep what a v2 document may already have; create the objects if not.
    local ui = doc.ui or {}
    if doc.theme ~= nil then ui.theme = doc.theme end
    if doc.font_size ~= nil then ui.font_size = doc.font_size end
    doc.ui = ui

    if doc.notify_email ~= nil then
      local notifications = doc.notifications or {}
      notifications.email = truthy(doc.notify_email)
      doc.notifications = notifications
    end

    -- Setting a key to nil removes it from the encoded document.
    doc.theme, doc.font_size, doc.notify_email, doc.legacy_flag = nil, nil, nil, nil
    return json.encode(doc)
  end,

  verify = function(key, value)
    local ok, doc = pcall(json.decode, value)
    if not ok then return false, "not valid JSON: " .. tostring(doc) end
    for _, field in ipairs(V1_FIELDS) do
      if doc[field] ~= nil then return false, "still has v1 field " .. field end
    end
    if type(doc.ui) ~= "table" then return false, "no ui object" end
    if doc.notifications ~= nil and type(doc.notifications.email) ~= "boolean" then
      return false, "notifications.email is not a boolean"
    end
    return true
  end,
}
