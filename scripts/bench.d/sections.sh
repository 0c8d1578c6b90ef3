# scripts/bench's sections: each measures one thing and records its figures
# with add_sample (lib.sh). Sourced by scripts/bench, which sets keys, runs,
# growth_runs, main_port (the main server) and the tools (ks, py, here).

migrations() { echo "$PWD/examples/bench/$1"; }
url() { echo "redis://127.0.0.1:$1/0"; }

# tool_cmd TOOL WORKLOAD PORT [MIGRATION_DIR]: sets $cmd to the command that
# runs TOOL over the workload's keys.
tool_cmd() {
  local dir=${4:-$(migrations "$2")}
  case $1 in
    handwritten) cmd=("$py" -I -B "$here/peers.py" transform "$3" "$2") ;;
    evalsha) cmd=("$py" -I -B "$here/peers.py" evalsha "$3" "$2") ;;
    host | server) cmd=("$ks" --url "$(url "$3")" --dir "$dir" --output json up --mode "$1") ;;
  esac
}

# measure NAME KEYS CMD...: one timed run; the tool must report every key
# changed (or copied); adds its keys/s to NAME.
measure() {
  local name=$1 n=$2 got
  shift 2
  timed "$tmp/out" "$@"
  got=$(changed_count "$tmp/out")
  [ "$got" = "$n" ] || die "$name: changed ${got:-?} keys, not $n (output in $tmp/out)"
  add_sample "$name" "$(rate "$n" "$secs")"
}

# measure_tool NAME TOOL WORKLOAD KEYS SNAPSHOT [MIGRATION_DIR]: a run of one
# tool on fresh data (the snapshot reloaded), checked afterwards. Host-mode
# runs also record keyshift's peak RSS and Redis's memory per journaled key.
measure_tool() {
  local name=$1 tool=$2 w=$3 n=$4 before
  restore_data "$main_port" "$5"
  tool_cmd "$tool" "$w" "$main_port" "${6:-}"
  before=$(used_memory "$main_port")
  measure "$name" "$n" "${cmd[@]}"
  check_data "$main_port" "$w" "$n" >/dev/null
  if [ "$tool" = host ]; then
    add_sample "$name.rss" "$(cat "$tmp/out.rss")"
    add_sample "$name.journal" $((($(used_memory "$main_port") - before) / n))
  fi
}

# The raw ceiling: redis-benchmark SET then GET, one connection, 64 commands
# per round trip, values of the workload's size, on as many distinct keys.
# Per key a migration needs one read and one write: 1 / (1/set + 1/get).
measure_ceiling() {
  local w=$1 n=$2 size=$3 set get
  rc "$main_port" flushall >/dev/null
  redis-benchmark -h 127.0.0.1 -p "$main_port" -t set,get -n "$n" -r "$n" -c 1 -P 64 -d "$size" --csv \
    >"$tmp/rb.csv" 2>&1 || die "redis-benchmark failed: $(tail -3 "$tmp/rb.csv")"
  set=$(awk -F'"' '$2 == "SET" { print $4 }' "$tmp/rb.csv")
  get=$(awk -F'"' '$2 == "GET" { print $4 }' "$tmp/rb.csv")
  [[ $set =~ ^[0-9.]+$ && $get =~ ^[0-9.]+$ ]] || die "could not read redis-benchmark's rates: $(cat "$tmp/rb.csv")"
  add_sample "$w.set" "$set"
  add_sample "$w.get" "$get"
  add_sample "$w.ceiling" "$(awk -v s="$set" -v g="$get" 'BEGIN { printf "%.0f", 1 / (1 / s + 1 / g) }')"
}

# seed_snapshot NAME WORKLOAD KEYS [PAD]: seeds the main server and keeps the
# data as snapshot NAME for measure_tool; records NAME.value_bytes.
seed_snapshot() {
  local name=$1 w=$2 n=$3 pad=${4:-0}
  progress "$name: seeding $n keys"
  seed "$main_port" "$w" "$n" "$pad"
  snapshot "$main_port" "$name"
  add_sample "$name.value_bytes" "$value_bytes"
}

# a-d: the ceiling, both peers and both keyshift modes on one workload, the
# tools taking turns within a run so that noise spreads over all of them.
prepare_workload() {
  seed_snapshot "$1" "$1" "$keys"
  add_sample "$1.dump_bytes" "$(sample "$main_port" dumpsize "$1" "$keys")"
}
workload_run() {
  local w=$1 tool
  progress "$w: run $2: ceiling"
  measure_ceiling "$w" "$keys" "$(median "$w.value_bytes")"
  for tool in handwritten evalsha host server; do
    progress "$w: run $2: $tool"
    measure_tool "$w.$tool" "$tool" "$w" "$keys" "$w"
  done
  add_sample "$w.runs" 1
}
strings_run() { workload_run strings "$1"; }
hashes_run() { workload_run hashes "$1"; }

# repeat FN: calls FN "k/R" for k = 1..R; with --quick only for k = 1, and
# extra_runs calls it again at the end while the time budget allows.
declare -A run_seconds=()  # FN -> seconds its last run took
repeatable=()
run_once() {
  local t0=$SECONDS
  "$1" "$2"
  run_seconds[$1]=$((SECONDS - t0))
}
repeat() {
  local run
  for run in $(seq $((quick ? 1 : runs))); do run_once "$1" "$run/$runs"; done
  repeatable+=("$1")
}

# --quick: runs 2..R of every repeatable section, while each fits in the
# budget (a run costs about what its last one did). Fewer runs: wider error.
extra_runs() {
  local run fn
  for run in $(seq 2 "$runs"); do
    for fn in "${repeatable[@]}"; do
      if [ $((SECONDS + run_seconds[$fn] + 15)) -le "$budget_seconds" ]; then
        run_once "$fn" "$run/$runs"
      else
        progress "${fn%_run}: run $run/$runs skipped: it would overrun the --quick budget of ${budget_seconds}s"
      fi
    done
  done
}

section_strings() { prepare_workload strings; repeat strings_run; }
section_hashes() { prepare_workload hashes; repeat hashes_run; }

# Client peak RSS at KEYS and 4 x KEYS: it must not grow with the keyspace.
section_rss() {
  local big=$((keys * 4))
  if [ -z "$(median strings.host.rss)" ]; then
    seed_snapshot strings strings "$keys"
    progress "rss: host mode over $keys keys"
    measure_tool strings.host host strings "$keys" strings
  fi
  seed_snapshot rss strings "$big"
  progress "rss: host mode over $big keys"
  measure_tool rss.big host strings "$big" rss
  rm -f "$tmp/rss.rdb"  # the biggest snapshot, not needed again
}

# seed_cluster KEYS: every node of the cluster seeds the doc:N of its slots, at once.
seed_cluster() {
  local p seeders=() out
  for p in "${cluster_ports[@]}"; do
    rc "$p" flushall >/dev/null
    workload "$p" seed strings 1 "$1" 0 "$(node_spans "$p")" >"$tmp/seed-$p" &
    seeders+=($!)
  done
  wait "${seeders[@]}"
  for p in "${cluster_ports[@]}"; do
    out=$(cat "$tmp/seed-$p")
    [[ $out =~ ^[0-9]+$ ]] || die "seeding cluster node $p failed: $out"
  done
}

# The same keys and migration on a cluster of one primary and of three.
# All nodes share this machine's cores with keyshift: the ratio shows what
# working primaries in parallel buys here, not on separate machines.
section_cluster() {
  local n=$((keys / 5)) nodes run mode p
  for nodes in 1 3; do
    progress "cluster: starting $nodes primaries"
    start_cluster "$nodes"
    for run in $(seq "$growth_runs"); do
      for mode in host server; do
        progress "cluster, $nodes primaries: run $run/$growth_runs: $mode over $n keys"
        seed_cluster "$n"
        measure "cluster$nodes.$mode" "$n" "$ks" --url "$(url "${cluster_ports[0]}")" --dir "$(migrations strings)" \
          --output json up --mode "$mode"
        for p in "${cluster_ports[@]}"; do check_data "$p" strings "$n" "$(node_spans "$p")" >/dev/null; done
      done
    done
    stop_pids "${cluster_pids[@]}"
  done
  add_sample cluster.keys "$n"
}

# The target must hold what the source holds: a digest of the same sample of
# keys on both, and at least as many keys.
check_copy() {
  local src dst
  src=$(sample "$main_port" digest strings "$keys")
  dst=$(sample "$copy_port" digest strings "$keys")
  [ "$src" = "$dst" ] || die "copy: the target differs from the source (digests $src / $dst)"
  [ "$(rc "$copy_port" dbsize)" -ge "$keys" ] || die "copy: the target holds fewer than $keys keys"
}

# keyshift copy against a hand-written SCAN + DUMP/PTTL + RESTORE pipeline, to
# a second throwaway server emptied before every run.
copy_run() {
  restore_data "$main_port" strings  # other sections may have reseeded since
  progress "copy: run $1: keyshift copy"
  rc "$copy_port" flushall >/dev/null
  measure copy.keyshift "$keys" "$ks" --url "$(url "$main_port")" --output json copy --to "$(url "$copy_port")" --match 'doc:*'
  check_copy
  progress "copy: run $1: hand-written DUMP/RESTORE"
  rc "$copy_port" flushall >/dev/null
  measure copy.handwritten "$keys" "$py" -I -B "$here/peers.py" copy "$main_port" "$copy_port" 'doc:*'
  check_copy
  rc "$copy_port" flushall >/dev/null
}
section_copy() {
  [ -f "$tmp/strings.rdb" ] || seed_snapshot strings strings "$keys"
  start_server
  copy_port=$port
  repeat copy_run
}

# How cost grows with the value: JSON documents of ~1 KB and ~100 KB (an
# array of small objects: more to parse, not just more to copy), fewer keys.
section_values() {
  local pad n run tool
  for pad in 1024 102400; do
    n=$((pad == 1024 ? keys / 10 : keys / 1000))
    [ "$n" -ge 100 ] || n=100
    seed_snapshot "values$pad" strings "$n" "$pad"
    add_sample "values$pad.keys" "$n"
    for run in $(seq "$growth_runs"); do
      for tool in handwritten evalsha host server; do
        progress "values ~$pad bytes: run $run/$growth_runs: $tool over $n keys"
        measure_tool "values$pad.$tool" "$tool" strings "$n" "values$pad"
      done
    done
  done
}

# How cost grows with the batch (keys per SCAN and per write pipeline), set
# in a copy of the strings migration's scan.batch.
section_batch() {
  local n=$((keys / 5)) batch dir run mode
  seed_snapshot batch strings "$n"
  add_sample batch.keys "$n"
  for batch in 100 500 2000; do
    dir="$tmp/batch$batch"
    mkdir -p "$dir"
    sed "s/type = \"string\" }/type = \"string\", batch = $batch }/" "$(migrations strings)"/*.lua >"$dir/0001_docs_v2.lua"
    grep -q "batch = $batch" "$dir/0001_docs_v2.lua" || die "could not set scan.batch in the strings migration"
    for run in $(seq "$growth_runs"); do
      for mode in host server; do
        progress "batch $batch: run $run/$growth_runs: $mode over $n keys"
        measure_tool "batch$batch.$mode" "$mode" strings "$n" batch "$dir"
      done
    done
  done
}
