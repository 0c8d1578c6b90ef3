// Counting what a strategy wrote.
#include "engine/key_sink.h"

namespace keyshift {

void CountChange(Counters* c, KeyAction action, long long journal_bytes) {
  ++(action == KeyAction::kDelete ? c->deleted : action == KeyAction::kRename ? c->renamed : c->changed);
  c->journal_bytes += journal_bytes;
}

}  // namespace keyshift
