// The subcommand handlers (one file each: command_<name>.cc). Each returns
// the process exit code; errors go through ReportError.
#pragma once

#include "cli/cli.h"
#include "engine/copy_transform.h"

namespace keyshift {

int CmdNew(Context& ctx);
int CmdStatus(Context& ctx);
int CmdUp(Context& ctx);
int CmdCheck(Context& ctx);
int CmdVerify(Context& ctx);
int CmdDown(Context& ctx);
int CmdPrune(Context& ctx);
int CmdPlan(Context& ctx);
int CmdCatchup(Context& ctx);
int CmdCopy(Context& ctx);
// --follow and --for of catchup and copy: --for needs --follow, neither goes with --dry-run.
Status CheckFollowUsage(const CliOptions& o);
int CmdCompare(Context& ctx);
// copy's and compare's --apply / --revert (and their options): the
// migrations to run on the way; none without either.
Result<CopyPlan> LoadCopyPlan(Context& ctx, Topology* source, Topology* target, const std::string& source_id);

// The checks that need no migration yet (INFO, and the state commands on
// keyshift's own keys): run on ctx's connection before the catalog is read,
// so a user who may not even read the ledger gets this message, not NOPERM.
Status CheckServerBeforeOpen(Context& ctx, bool writes);

// The prologue of the writing commands (up, down, catchup, prune):
// CheckServerBeforeOpen, then ctx.Open().
Result<std::unique_ptr<Workspace>> CheckServerAndOpen(Context& ctx, bool writes);

}  // namespace keyshift
