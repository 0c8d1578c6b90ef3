// What `keyshift --version` reports: keyshift's own version and git commit
// (recorded at build time, cmake/build_info.cmake) and the versions of the
// Lua and hiredis it was built with.
#pragma once

#include <string>

namespace keyshift {

extern const char* const kBuildVersion;  // the CMake project version
extern const char* const kBuildCommit;   // short hash, "-dirty" suffix, or "unknown" outside git

struct VersionInfo {
  std::string version, commit, lua, hiredis;
};

VersionInfo CurrentVersion();
// One line per component, for a terminal.
std::string VersionText(const VersionInfo& v);
// {"version","commit","lua","hiredis"}, for --output json.
std::string VersionJson(const VersionInfo& v);

}  // namespace keyshift
