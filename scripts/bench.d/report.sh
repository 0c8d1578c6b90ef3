# scripts/bench's report: the figures recorded by the sections, as the
# markdown of docs/benchmarks.md. Sourced by scripts/bench; a section that
# did not run prints nothing.

begin_marker='<!-- hand-written: begin (scripts/bench keeps everything up to the end marker) -->'
end_marker='<!-- hand-written: end -->'

has() { [ -n "${samples[$1]:-}" ]; }
# cell NAME: "median | min–max" of a figure.
cell() {
  local m lo hi
  has "$1" || { echo "– | –"; return; }
  read -r m lo hi <<<"$(stats ${samples[$1]})"
  echo "$m | $lo–$hi"
}
count() { set -- ${samples[$1]:-}; echo $#; }
ratio_of() { if has "$1" && has "$2"; then ratio "$(median "$1")" "$(median "$2")"; else echo "–"; fi; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

machine() {
  local cpu ram
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  ram=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
  echo "$(nproc) vCPUs (${cpu:-unknown CPU}), $ram RAM"
}

report_header() {
  cat <<MD
# Benchmarks

<!-- Written by scripts/bench: every run rewrites this file except the hand-written section at its end. -->

Written by \`scripts/bench ${bench_args[*]}\` on $(date -u '+%Y-%m-%d %H:%M') UTC, in $((SECONDS / 60))m $((SECONDS % 60))s
(load average $load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end).
Machine: $(machine). redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'),
$("$ks" --version | head -1), Python $("$py" -c 'import platform; print(platform.python_version())')
with python3-redis $("$py" -I -c 'import redis; print(redis.__version__)'); keyshift and every
redis-server on this machine, over loopback. Each figure is the median of its runs on freshly seeded
data (throughput and copy: the runs column, at most $runs; the others: $growth_runs), with the spread
(min–max) of the runs. How to read it: [the notes at the end](#how-to-read-these-figures).
MD
}

workload_label() {
  case $1 in
    strings) echo "strings: compact JSON, ~$(median strings.value_bytes) B" ;;
    hashes) echo "hashes: 5 fields, ~$(median hashes.value_bytes) B" ;;
  esac
}

# throughput_row LABEL TOOL FIGURE WORKLOAD
throughput_row() { echo "| $1 | $2 | $(cell "$3") | $(ratio_of "$3" "$4.ceiling") | $(count "$3") |"; }

report_throughput() {
  local w
  has strings.host || has hashes.host || return 0
  cat <<MD

## Throughput: $keys keys, default batch

| workload | tool | keys/s | spread | vs ceiling | runs |
|---|---|---|---|---|---|
MD
  for w in strings hashes; do
    has "$w.host" || continue
    throughput_row "$(workload_label "$w")" "ceiling: redis-benchmark SET+GET, -c 1 -P 64" "$w.ceiling" "$w"
    throughput_row "" "hand-written pipelined client (python3-redis)" "$w.handwritten" "$w"
    throughput_row "" "per-key EVALSHA script (Redis cjson)" "$w.evalsha" "$w"
    throughput_row "" "keyshift up --mode host" "$w.host" "$w"
    throughput_row "" "keyshift up --mode server" "$w.server" "$w"
  done
  cat <<MD

| ratio (issue 11 target) | strings | hashes |
|---|---|---|
| host / hand-written (>= 3) | $(ratio_of strings.host strings.handwritten) | $(ratio_of hashes.host hashes.handwritten) |
| host / ceiling (>= 0.6) | $(ratio_of strings.host strings.ceiling) | $(ratio_of hashes.host hashes.ceiling) |
| server / per-key EVALSHA (>= 1.5) | $(ratio_of strings.server strings.evalsha) | $(ratio_of hashes.server hashes.evalsha) |

The ceiling's parts (median ops/s): strings SET $(median strings.set), GET $(median strings.get);
hashes SET $(median hashes.set), GET $(median hashes.get) (plain strings of the same size as a hash's fields and values).
MD
}

report_memory() {
  local w
  if has rss.big.rss; then
    cat <<MD

## Memory

Client peak RSS of \`keyshift up\` (host mode, strings; target <= 32 MiB, the same at both sizes):
$(mib "$(median strings.host.rss)") at $keys keys, $(mib "$(median rss.big.rss)") at $((keys * 4)) keys.
The same runs' rates show how the cost grows with the keys: $(median strings.host) keys/s at $keys keys
(median), $(median rss.big) keys/s at $((keys * 4)) keys (one run).
MD
  fi
  has strings.host.journal || has hashes.host.journal || return 0
  cat <<MD

Redis memory per journaled key after a host-mode run (\`used_memory\` after the run minus before,
divided by the keys; it holds the undo journal entry, the new value's growth and keyshift's
checkpoints and ledger) against the mean DUMP size of a value (what the journal stores):

| workload | used_memory delta per key | mean DUMP size | delta / DUMP |
|---|---|---|---|
MD
  for w in strings hashes; do
    has "$w.host.journal" || continue
    echo "| $w | $(median "$w.host.journal") B | $(median "$w.dump_bytes") B | $(ratio_of "$w.host.journal" "$w.dump_bytes") |"
  done
}

report_cluster() {
  has cluster3.host || return 0
  cat <<MD

## Redis Cluster: three primaries against one

$(median cluster.keys) strings keys spread over the slots; all nodes and keyshift share this
machine's $(nproc) cores, so the gain from parallel primaries is bounded by the CPUs here.

| mode | 1 primary, keys/s | spread | 3 primaries, keys/s | spread | 3 / 1 |
|---|---|---|---|---|---|
| host | $(cell cluster1.host) | $(cell cluster3.host) | $(ratio_of cluster3.host cluster1.host) |
| server | $(cell cluster1.server) | $(cell cluster3.server) | $(ratio_of cluster3.server cluster1.server) |
MD
}

report_copy() {
  has copy.keyshift || return 0
  cat <<MD

## copy to a second server

$keys strings keys to a second throwaway redis-server, emptied before every run.

| tool | keys/s | spread | runs |
|---|---|---|---|
| \`keyshift copy --to\` | $(cell copy.keyshift) | $(count copy.keyshift) |
| hand-written SCAN + pipelined DUMP/PTTL + pipelined RESTORE ... REPLACE (python3-redis) | $(cell copy.handwritten) | $(count copy.handwritten) |

keyshift / hand-written: $(ratio_of copy.keyshift copy.handwritten).
MD
}

report_values() {
  local pad label t
  has values1024.host || return 0
  cat <<MD

## How cost grows with the value size

The strings workload with each document padded by an array of small objects (more to parse, not
only more to copy); fewer keys. MB/s counts the values read.

| value | keys | tool | keys/s | spread | MB/s |
|---|---|---|---|---|---|
MD
  for pad in 1024 102400; do
    label="~$(median "values$pad.value_bytes") B"
    for t in handwritten evalsha host server; do
      has "values$pad.$t" || continue
      echo "| $label | $(median "values$pad.keys") | $t | $(cell "values$pad.$t") | $(awk -v r="$(median "values$pad.$t")" \
        -v b="$(median "values$pad.value_bytes")" 'BEGIN { printf "%.1f", r * b / 1e6 }') |"
      label=""
    done
  done
}

report_batch() {
  has batch500.host || return 0
  cat <<MD

## How cost grows with the batch size

The strings workload, $(median batch.keys) keys, \`scan.batch\` set in the migration.

| scan.batch | host keys/s | spread | server keys/s | spread |
|---|---|---|---|---|
| 100 | $(cell batch100.host) | $(cell batch100.server) |
| 500 (the default) | $(cell batch500.host) | $(cell batch500.server) |
| 2000 | $(cell batch2000.host) | $(cell batch2000.server) |
MD
}

# The hand-written section of the current docs/benchmarks.md, markers
# included, so that a run keeps what people wrote there.
report_notes() {
  local doc=docs/benchmarks.md
  echo
  if [ -f "$doc" ] && grep -qF "$begin_marker" "$doc"; then
    sed -n "\\|^$begin_marker\$|,\\|^$end_marker\$|p" "$doc"
  else
    printf '%s\n\n## How to read these figures\n\n(to be written)\n\n%s\n' "$begin_marker" "$end_marker"
  fi
}

report() {
  report_header
  report_throughput
  report_memory
  report_cluster
  report_copy
  report_values
  report_batch
  report_notes
}
