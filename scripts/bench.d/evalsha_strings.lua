-- The per-key EVALSHA peer for the "strings" workload: what a team would
-- write by hand with Redis's own cjson. Reads, transforms and writes KEYS[1]
-- atomically; no journal, no checkpoint. (cjson reorders members and prints
-- big numbers in %.14g, so it is not byte-safe: keyshift's json is.)
local text = redis.call("GET", KEYS[1])
if not text then return 0 end
local doc = cjson.decode(text)
if doc.v ~= 1 then return 0 end
doc.v = 2
doc.email_domain = doc.email:match("@(.+)$")
redis.call("SET", KEYS[1], cjson.encode(doc), "KEEPTTL")
return 1
