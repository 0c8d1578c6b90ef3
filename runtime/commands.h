// The subcommand handlers (one file each: command_<name>.cc). Each returns
// the process exit code; errors go through ReportError.
#pragma once

#include "runtime/cli.h"

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

}  // namespace keyshift
