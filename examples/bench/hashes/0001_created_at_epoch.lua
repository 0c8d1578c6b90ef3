-- Benchmark workload "hashes" (scripts/bench): user:<id> is a hash of 5
-- fields written by an ORM; created_at goes from ISO-8601 text to epoch
-- seconds. The hand-written peers in scripts/bench.d/ do the same transform.
--
-- No scan.batch: the bench measures keyshift's default batch.
return {
  description = "bench: user:* created_at ISO-8601 -> epoch seconds",
  scan = { match = "user:*", type = "hash" },
  transform = function(key, value)
    if value.created_at:match("^%d+$") then return nil end  -- already epoch
    value.created_at = time.to_epoch(value.created_at)
    return value
  end,
}
