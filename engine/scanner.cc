// SCAN cursors, one per primary, and the passes a reshard calls for.
#include "engine/scanner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>

#include "core/text.h"
#include "engine/server_check.h"

namespace keyshift {
namespace {

constexpr const char* kClusterTag = "cluster:";

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t end; (end = text.find(sep, at)) != std::string::npos; at = end + 1) out.push_back(text.substr(at, end - at));
  out.push_back(text.substr(at));
  return out;
}

// "0-5460:idA,5461-16383:idB" <-> one id per slot.
std::string EncodeOwners(const std::vector<std::string>& owners) {
  std::string out;
  for (size_t s = 0; s < owners.size();) {
    size_t e = s;
    while (e + 1 < owners.size() && owners[e + 1] == owners[s]) ++e;
    out += fmt::format("{}{}-{}:{}", out.empty() ? "" : ",", s, e, owners[s]);
    s = e + 1;
  }
  return out;
}

std::vector<std::string> DecodeOwners(const std::string& text) {
  std::vector<std::string> owners;
  for (const std::string& range : Split(text, ',')) {
    size_t dash = range.find('-'), colon = range.find(':');
    if (dash == std::string::npos || colon == std::string::npos) return {};
    auto first = ParseStateInt(range.substr(0, dash)), last = ParseStateInt(range.substr(dash + 1, colon - dash - 1));
    if (!first || !last || *first < 0 || *last < *first || *last >= 16384) return {};
    owners.resize(static_cast<size_t>(*last) + 1);
    for (long long s = *first; s <= *last; ++s) owners[static_cast<size_t>(s)] = range.substr(colon + 1);
  }
  return owners;
}

bool IsCursor(const std::string& text) {
  return !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
}

// Keys each import's source still holds in the slot (CLUSTER COUNTKEYSINSLOT,
// one batch per source node); kUncounted for a source that is no primary,
// kUnreadable for a refused count.
constexpr long long kUncounted = -1, kUnreadable = -2;

Result<std::vector<long long>> KeysLeftOnSources(const std::vector<SlotImport>& imports,
                                                 const std::vector<NodeRef>& primaries) {
  std::vector<RedisConnection*> conns;
  std::vector<std::vector<Command>> batches;
  std::vector<std::pair<size_t, size_t>> at(imports.size(), {SIZE_MAX, 0});  // batch, place in it
  for (size_t k = 0; k < imports.size(); ++k) {
    auto source = std::find_if(primaries.begin(), primaries.end(), [&](const NodeRef& n) { return n.id == imports[k].from; });
    if (source == primaries.end()) continue;
    size_t b = static_cast<size_t>(std::find(conns.begin(), conns.end(), source->conn) - conns.begin());
    if (b == conns.size()) {
      conns.push_back(source->conn);  // a connection serves one thread: one batch per node
      batches.emplace_back();
    }
    at[k] = {b, batches[b].size()};
    batches[b].push_back({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(imports[k].slot)});
  }
  auto replies = PipelineEach(conns, batches);
  if (!replies.ok()) return replies.error();
  std::vector<long long> left;
  for (auto [b, i] : at) {
    const Reply* r = b == SIZE_MAX ? nullptr : &(*replies)[b][i];
    left.push_back(!r ? kUncounted : r->kind == Reply::kInteger ? r->integer : kUnreadable);
  }
  return left;
}

}  // namespace

bool ValidPosition(const std::string& text) {
  if (text.rfind(kClusterTag, 0) != 0) return IsCursor(text);
  auto parts = Split(text.substr(std::string(kClusterTag).size()), '|');
  if (parts.size() != 2 || (!parts[1].empty() && DecodeOwners(parts[1]).empty())) return false;
  for (const std::string& entry : Split(parts[0], ';')) {
    size_t at = entry.find('@'), eq = entry.find('=');
    if (at == std::string::npos || eq == std::string::npos || eq < at) return false;
    std::string cursor = entry.substr(eq + 1);
    if (!cursor.empty() && cursor.back() == '!') cursor.pop_back();
    if (cursor != "done" && !IsCursor(cursor)) return false;
  }
  return true;
}

Scanner::Scanner(Topology* topology, std::string match, std::optional<KeyType> type, int count,
                 const StateKeys* state)
    : topology_(topology), match_(std::move(match)), type_(type), count_(std::max(1, count)), state_(state) {}

Status Scanner::ReadNodes() {
  // A cursor belongs to one server process: each node's run_id goes with it.
  auto infos = OnEveryPrimary(topology_, {"INFO", "server"});
  if (!infos.ok()) return infos.error();
  nodes_.clear();
  for (const PrimaryReply& p : *infos)
    nodes_.push_back(Node{p.node.id, InfoValue(p.reply.str, "run_id"), "0", false, false, p.node.conn});
  owners_ = topology_->SlotOwners();
  return Status::Ok();
}

Status Scanner::Start(const std::string& position, const std::string& run_id) {
  if (Status st = ReadNodes(); !st) return st;
  started_ = true;
  done_ = false;
  if (!topology_->cluster()) {
    // Another server process (restart, failover) would not know the cursor.
    if (!position.empty() && position.rfind(kClusterTag, 0) != 0 && run_id == nodes_[0].run_id)
      nodes_[0].cursor = position;
    nodes_[0].done = false;
    return Status::Ok();
  }
  if (position.rfind(kClusterTag, 0) == 0) Restore(position.substr(std::string(kClusterTag).size()));
  return Status::Ok();
}

// Takes each saved node's cursor if the node still runs the same process; a
// slot owned elsewhere than when saved may have brought keys behind a cursor.
void Scanner::Restore(const std::string& text) {
  auto parts = Split(text, '|');
  std::vector<std::string> saved_owners = parts.size() > 1 ? DecodeOwners(parts[1]) : std::vector<std::string>{};
  for (const std::string& entry : Split(parts[0], ';')) {
    size_t at = entry.find('@'), eq = entry.find('=');
    if (at == std::string::npos || eq == std::string::npos || eq < at) continue;
    std::string id = entry.substr(0, at), run_id = entry.substr(at + 1, eq - at - 1);
    std::string cursor = entry.substr(eq + 1);
    bool again = !cursor.empty() && cursor.back() == '!';
    if (again) cursor.pop_back();
    for (Node& n : nodes_) {
      if (n.id != id || n.run_id != run_id) continue;
      n.done = cursor == "done";
      n.cursor = n.done ? "0" : cursor;
      n.again = again;
    }
  }
  if (saved_owners.size() != owners_.size()) return;  // unknown: every node is scanned from its cursor, then again
  for (size_t s = 0; s < owners_.size(); ++s)
    if (saved_owners[s] != owners_[s])
      for (Node& n : nodes_)
        if (n.id == owners_[s]) n.again = true;
}

std::string Scanner::position() const {
  if (!topology_->cluster()) return nodes_.empty() ? "0" : nodes_[0].cursor;
  std::string out = kClusterTag;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    out += fmt::format("{}{}@{}={}{}", i ? ";" : "", n.id, n.run_id, n.done ? "done" : n.cursor, n.again ? "!" : "");
  }
  return out + "|" + EncodeOwners(owners_);
}

std::string Scanner::run_id() const { return topology_->cluster() || nodes_.empty() ? "" : nodes_[0].run_id; }

Command Scanner::ScanCommand(const std::string& cursor, size_t nodes_active) const {
  size_t count = std::max<size_t>(10, static_cast<size_t>(count_) / std::max<size_t>(1, nodes_active));
  Command cmd{"SCAN", cursor, "MATCH", match_, "COUNT", std::to_string(count)};
  if (type_) cmd.insert(cmd.end(), {"TYPE", KeyTypeName(*type_)});
  return cmd;
}

// Nodes whose import of a slot began, or moved keys, since the last check.
// The source's count of keys in the slot only goes down while it migrates
// (new keys are created on the importing side), so an unchanged count means
// no key moved; a count that cannot be read counts as a move.
Result<std::set<std::string>> Scanner::ImportsThatMoved() {
  auto imports = topology_->Imports();
  if (!imports.ok()) return imports.error();
  auto primaries = topology_->Primaries();
  if (!primaries.ok()) return primaries.error();
  auto left = KeysLeftOnSources(*imports, *primaries);
  if (!left.ok()) return left.error();
  std::map<int, Import> now;
  std::set<std::string> moved;
  for (size_t k = 0; k < imports->size(); ++k) {
    const Import& cur = now[(*imports)[k].slot] = Import{(*imports)[k].to, (*left)[k]};
    auto before = imports_.find((*imports)[k].slot);
    bool fresh = before == imports_.end() || before->second.to != cur.to;
    if (fresh || cur.keys_left == kUnreadable || cur.keys_left < before->second.keys_left) moved.insert(cur.to);
  }
  imports_ = std::move(now);
  return moved;
}

// A node that now owns a slot it did not, or imported keys, may hold keys its
// cursor already passed: it gets another pass.
Status Scanner::CheckMoves() {
  if (Status st = topology_->Refresh(); !st) return st;
  std::vector<std::string> owners = topology_->SlotOwners();
  auto importing = ImportsThatMoved();
  if (!importing.ok()) return importing.error();
  std::set<std::string> gained = *importing;
  for (size_t s = 0; s < owners.size() && s < owners_.size(); ++s)
    if (owners[s] != owners_[s]) gained.insert(owners[s]);
  owners_ = std::move(owners);
  bool unknown = false;
  for (const std::string& id : gained) {
    auto node = std::find_if(nodes_.begin(), nodes_.end(), [&](const Node& n) { return n.id == id; });
    if (node == nodes_.end()) unknown = true;
    else node->again = true;
  }
  // A primary that joined mid-run: start over with the new node list; every
  // old node is scanned again too (the journal skips what was done).
  if (unknown) {
    if (Status st = ReadNodes(); !st) return st;
    for (Node& n : nodes_) n.again = true;
  }
  return Status::Ok();
}

bool Scanner::StartAnotherPass() {
  bool any = false;
  for (Node& n : nodes_) {
    if (!n.again) continue;
    n = Node{n.id, n.run_id, "0", false, false, n.conn};
    any = true;
  }
  if (any) ++extra_passes_;
  return any;
}

Result<std::vector<std::string>> Scanner::Next() {
  if (!started_)
    if (Status st = Start(); !st) return st.error();
  if (done_) return std::vector<std::string>();
  std::vector<Node*> active;
  for (Node& n : nodes_)
    if (!n.done) active.push_back(&n);
  if (active.empty()) {
    if (topology_->cluster())
      if (Status st = CheckMoves(); !st) return st.error();
    if (!StartAnotherPass()) done_ = true;
    return std::vector<std::string>();
  }
  std::vector<RedisConnection*> conns;
  std::vector<std::vector<Command>> scans;
  for (Node* n : active) {
    conns.push_back(n->conn);
    scans.push_back({ScanCommand(n->cursor, active.size())});
  }
  auto replies = PipelineEach(conns, scans);
  if (!replies.ok()) return replies.error();
  std::vector<std::string> keys;
  for (size_t i = 0; i < active.size(); ++i) {
    Reply& reply = (*replies)[i].front();
    if (reply.is_error()) return Fail(fmt::format("{} refused SCAN: {}", conns[i]->Describe(), reply.str));
    if (reply.elements.size() != 2) return Fail("unexpected SCAN reply");
    active[i]->cursor = reply.elements[0].str;
    active[i]->done = active[i]->cursor == "0";
    for (auto& k : reply.elements[1].elements)
      if (!state_ || !state_->Owns(k.str)) keys.push_back(std::move(k.str));
  }
  if (topology_->cluster())
    if (Status st = CheckMoves(); !st) return st.error();
  // The moves that call for another pass were just checked: a scan that has
  // returned its last keys says so now (`plan` calls such a sample exact).
  bool all_done = std::all_of(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.done; });
  if (all_done && !StartAnotherPass()) done_ = true;
  return keys;
}

Result<std::vector<std::string>> ListKeys(Topology* topology, const std::string& match) {
  Scanner scanner(topology, match, std::nullopt, 1000, nullptr);
  std::vector<std::string> out;
  while (!scanner.done()) {
    auto keys = scanner.Next();
    if (!keys.ok()) return keys.error();
    out.insert(out.end(), keys->begin(), keys->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace keyshift
