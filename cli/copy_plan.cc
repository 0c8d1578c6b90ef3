// --apply / --revert of copy and compare: the options checked and the
// migrations chosen (engine/copy_transform.h).
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/text.h"
#include "engine/directory.h"

namespace keyshift {

Result<CopyPlan> LoadCopyPlan(Context& ctx, Topology* source, Topology* target, const std::string& source_id) {
  const CliOptions& o = ctx.options();
  if (o.apply && o.revert) return UsageError("give --apply or --revert, not both");
  if (o.to_version && !o.apply) return UsageError("--to-version needs --apply");
  if (!o.without_revert.empty() && !o.revert) return UsageError("--without-revert needs --revert");
  TransformRequest request;
  request.direction = o.apply ? CopyDirection::kApply : o.revert ? CopyDirection::kRevert : CopyDirection::kNone;
  if (request.direction == CopyDirection::kNone) return CopyPlan{};
  request.up_to = o.to_version;
  request.without_revert.insert(o.without_revert.begin(), o.without_revert.end());
  auto dir = ReadMigrationDir(o.dir);
  if (!dir.ok()) return dir.error();
  if (!ctx.json())
    for (const auto& w : dir->warnings) fmt::print(stderr, "warning: {}\n", TerminalSafe(w));
  return PlanCopyTransforms(source, target, ctx.state(), *dir, request, source_id);
}

}  // namespace keyshift
