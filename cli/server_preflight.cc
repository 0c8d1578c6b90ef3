// The server checks run before any migration is read (engine/server_check.h
// does the checking; this picks the connection and options from the CLI).
#include "cli/commands.h"
#include "engine/server_check.h"

namespace keyshift {

Status CheckServerBeforeOpen(Context& ctx, bool writes) {
  auto conn = ctx.Redis();
  if (!conn.ok()) return conn.error();
  ServerNeeds needs{writes, ctx.options().allow_eviction, {}};
  if (writes) AddStateCommands(&needs.commands, ctx.state(), 0);
  return CheckServer(*conn, needs);
}

Result<std::unique_ptr<Workspace>> CheckServerAndOpen(Context& ctx, bool writes) {
  if (Status st = CheckServerBeforeOpen(ctx, writes); !st) return st.error();
  return ctx.Open();
}

}  // namespace keyshift
