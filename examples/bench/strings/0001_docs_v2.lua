-- Benchmark workload "strings" (scripts/bench): doc:<id> holds a compact JSON
-- document of ~170 bytes. Schema v1 -> v2: bump "v" and add "email_domain".
-- The hand-written peers in scripts/bench.d/ do the same transform.
--
-- No scan.batch: the bench measures keyshift's default batch (it sets
-- scan.batch itself for its batch-size runs).
return {
  description = "bench: doc:* JSON v1 -> v2 (v = 2, email_domain added)",
  scan = { match = "doc:*", type = "string" },
  transform = function(key, value)
    local doc = json.decode(value)
    if doc.v ~= 1 then return nil end  -- already v2: running twice changes nothing
    doc.v = 2
    doc.email_domain = doc.email:match("@(.+)$")
    return json.encode(doc)
  end,
}
