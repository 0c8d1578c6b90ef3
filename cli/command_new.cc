// `keyshift new SLUG`: the next migration file from the template.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/directory.h"

namespace keyshift {

int CmdNew(Context& ctx) {
  auto path = WriteNewMigration(ctx.options().dir, ctx.options().slug);
  if (!path.ok()) return ReportError(ctx, path.error());
  if (ctx.json()) fmt::print("{}\n", nlohmann::json({{"ok", true}, {"file", *path}}).dump());
  else fmt::print("wrote {}: fill in description, scan and transform, then `keyshift up --dry-run`\n", *path);
  return kExitOk;
}

}  // namespace keyshift
