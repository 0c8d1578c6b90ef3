// scratch probes (not committed)
#include <signal.h>
#include <sys/wait.h>
#include <catch.hpp>
#include <chrono>
#include <thread>
#include "tests/support/cluster_fixtures.h"

namespace keyshift::testing {

TEST_CASE("probe: two ups, maxmemory", "[probe]") {
  RedisCluster cluster;
  TempDir dir, scratch;
  constexpr int kDocs = 5000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 50, "host", 0.2);
  Spawned a = SpawnKeyshift(ks.Args({"up"}), scratch, "a");
  Spawned b = SpawnKeyshift(ks.Args({"up"}), scratch, "b");
  CliResult ra = WaitKeyshift(a), rb = WaitKeyshift(b);
  WARN(Describe(ra) << Describe(rb));
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  dir.Write("0002_big.lua", R"(return { description = "b", scan = { match = "doc:*" },
    transform = function(k, v) return v .. string.rep("x", 1000) end })");
  long long used = InfoNumber(cluster.Connection(1), "memory", "used_memory");
  Cmd(cluster.Connection(1), {"CONFIG", "SET", "maxmemory", std::to_string(used + 1000000)});
  CliResult p = ks.Run({"plan"});
  WARN(Describe(p));
  CliResult u = ks.Run({"up"});
  WARN(Describe(u));
}
}
