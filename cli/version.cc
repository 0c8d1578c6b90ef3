#include "cli/version.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/sandbox.h"
#include "redis/redis_client.h"

namespace keyshift {

VersionInfo CurrentVersion() {
  return VersionInfo{kBuildVersion, kBuildCommit, LuaRelease(),
                     HiredisVersion()};
}

std::string VersionText(const VersionInfo& v) {
  return fmt::format("keyshift {} (commit {})\nLua {} (host sandbox; Redis runs its own Lua 5.1)\nhiredis {}\n",
                     v.version, v.commit, v.lua.substr(v.lua.find(' ') + 1), v.hiredis);
}

std::string VersionJson(const VersionInfo& v) {
  return nlohmann::json({{"version", v.version}, {"commit", v.commit}, {"lua", v.lua}, {"hiredis", v.hiredis}})
      .dump();
}

}  // namespace keyshift
