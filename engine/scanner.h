// Walks the keys a migration names with SCAN, one batch per call, from a
// resumable position. keyshift's own keys (under the prefix) are never
// returned. SCAN may return a key more than once; callers rely on the
// journal, not on the scanner, for exactly-once.
//
// On Redis Cluster every primary is scanned with its own cursor, all of them
// at once (one SCAN per primary per batch, sent concurrently). A key can only
// escape a node's SCAN if it arrived on that node during the scan (SCAN
// promises only keys present from start to end). So after every batch the
// scanner re-reads the slot map and which nodes are importing a slot; a node
// that gained a slot, began importing one, or imported keys (the source's
// count of keys in the slot went down) during a pass is scanned again, from
// 0, in another pass, until a pass sees no key move (docs/cluster.md). An
// import that moves nothing (a reshard left half done) brings no key behind
// a cursor, so it does not keep the scan going.
//
// Position format (the checkpoint's `cursor` field, checkpoint.h):
//   single server   the SCAN cursor, e.g. "0" or "1536"
//   cluster         "cluster:" then ';'-separated node entries
//                   <node id>@<run_id>=<cursor or "done">[!] ('!': scan it
//                   again from 0 once this pass ends), then "|" and the slot
//                   owners when saved, as <first>-<last>:<node id> ranges
//                   joined by ','.
// A cursor means nothing to another server process, so a node whose run_id
// differs on resume is scanned from 0.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

class Scanner {
 public:
  Scanner(Topology* topology, std::string match, std::optional<KeyType> type, int count, const StateKeys* state);
  // Reads the nodes and resumes from a saved position (empty: from the
  // start; Next() starts so by itself). `run_id` is the single server's,
  // saved with its cursor.
  Status Start(const std::string& position = "", const std::string& run_id = "");
  // One SCAN round; may return no keys while not done.
  Result<std::vector<std::string>> Next();
  bool done() const { return done_; }
  // Where to resume after the keys returned so far are handled.
  std::string position() const;
  // The single server's run_id, to save beside position() ("" on a cluster:
  // each node's is inside the position).
  std::string run_id() const;
  // Passes begun again because slots moved (cluster only), for reports.
  int extra_passes() const { return extra_passes_; }

 private:
  struct Node {
    std::string id, run_id, cursor = "0";
    bool done = false, again = false;
    RedisConnection* conn = nullptr;
  };
  Status ReadNodes();
  void Restore(const std::string& position);
  Status CheckMoves();
  Result<std::set<std::string>> ImportsThatMoved();
  bool StartAnotherPass();
  Command ScanCommand(const std::string& cursor, size_t nodes_active) const;

  Topology* topology_;
  std::string match_;
  std::optional<KeyType> type_;
  int count_;
  const StateKeys* state_;
  std::vector<Node> nodes_;
  std::vector<std::string> owners_;  // slot -> node id, as last seen (cluster)
  struct Import {
    std::string to;
    long long keys_left = -1;  // on the source, as last counted (-1: unknown)
  };
  std::map<int, Import> imports_;  // by slot, as last seen
  bool started_ = false;
  bool done_ = false;
  int extra_passes_ = 0;
};

// Whether `text` is a position Scanner::position() could have written
// (a corrupt checkpoint must be refused, not half-understood).
bool ValidPosition(const std::string& text);

// Every key matching `match` on every primary, sorted and without
// duplicates (journal hashes: at most one per slot and migration).
Result<std::vector<std::string>> ListKeys(Topology* topology, const std::string& match);

}  // namespace keyshift
