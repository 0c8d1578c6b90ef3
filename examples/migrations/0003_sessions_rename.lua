-- 0003: sessions move from sess:<id> to session:{<user_id>}:<id>.
--
-- The {<user_id>} hash tag puts all of a user's sessions in one Redis Cluster
-- slot, so "log out everywhere" can delete them in one command. While we are
-- at it, revoked sessions (revoked = "1") are deleted rather than moved, and
-- the then useless revoked field is dropped from the ones that move.
--
-- ks.rename keeps the key's TTL: a session that had 3 hours to live still
-- has 3 hours under its new name; one without a TTL stays without.

return {
  description = "sess:<id> -> session:{<user_id>}:<id>; delete revoked sessions",
  owner       = "identity-team",
  expected    = "no sess:* keys remain; every live session is under session:{<user_id>}:<id> with its TTL",
  rollback    = "keyshift down moves them back (the app reads both names during the rollout)",

  scan = { match = "sess:*", type = "hash", batch = 500 },

  transform = function(key, value)
    if value.revoked == "1" then
      return ks.DELETE                     -- delete the key
    end
    local id = key:match("^sess:(.+)$")
    if not value.user_id or value.user_id == "" then
      -- error() stops the run here (or skips this key with --on-error skip);
      -- the key is left exactly as it was.
      error("session without a user_id")
    end
    value.revoked = nil                    -- a nil field is removed from the hash
    return ks.rename("session:{" .. value.user_id .. "}:" .. id, value)
  end,

  -- verify sees the keys scan matches: after the migration there should be
  -- none. Any it finds were written under the old name since (by an
  -- application instance that was not upgraded yet).
  verify = function(key, value)
    return false, "old-style session key still present (user " .. tostring(value.user_id) .. ")"
  end,
}
