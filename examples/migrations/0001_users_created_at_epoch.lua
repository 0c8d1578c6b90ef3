-- 0001: user:<id> hashes store their timestamps as epoch seconds.
--
-- The ORM wrote created_at / updated_at as ISO-8601 text, in whatever style
-- the client had: "2023-12-14T00:14:11+02:00", "2024-07-11T21:02:35.395867+00:00",
-- "2021-05-06T07:08:09.123Z". The application now wants numbers it can sort
-- and compare. Users written by the new code already hold epoch seconds;
-- those are left alone, so running this twice changes nothing more.

-- The two fields this migration owns.
local FIELDS = { "created_at", "updated_at" }

-- An epoch value as keyshift writes it: an integer ("1702505651"), or a
-- decimal when the original had a fraction ("1720731755.395867").
local function is_epoch(text)
  return text:match("^%-?%d+$") ~= nil or text:match("^%-?%d+%.%d+$") ~= nil
end

return {
  description = "user:* created_at/updated_at: ISO-8601 text -> epoch seconds",
  owner       = "accounts-team",
  expected    = "every user:* hash has a numeric created_at, and a numeric updated_at if it has one",
  rollback    = "restore the journaled values with keyshift down (or a backup taken before `up`)",

  -- SCAN MATCH user:* TYPE hash: other keys that match user:* (the set
  -- user:admins) are never passed to the transform.
  scan = { match = "user:*", type = "hash", batch = 500 },

  -- value is the hash as a Lua table: field name -> string.
  transform = function(key, value)
    local changed = false
    for _, field in ipairs(FIELDS) do
      local text = value[field]
      if text and not is_epoch(text) then
        -- time.to_epoch reads the offset and the fraction; it raises an
        -- error (naming this file, line and key) for text it cannot read.
        -- A number here is written canonically: 1702505651, not 1702505651.0.
        value[field] = time.to_epoch(text)
        changed = true
      end
    end
    if changed then return value end  -- write the whole hash back
    return nil                        -- nothing to do: leave the key as it is
  end,

  -- `keyshift verify` runs this over every user:* hash after the migration.
  verify = function(key, value)
    if not value.created_at then return false, "no created_at" end
    for _, field in ipairs(FIELDS) do
      local text = value[field]
      if text and not is_epoch(text) then
        return false, field .. " is not epoch seconds: " .. text
      end
    end
    return true
  end,
}
