// Planner (engine/planner.h) over the fake Redis: the matched-key estimate
// that is a run's progress denominator, exact when the sample covers the
// keyspace, on a single server and on a cluster.
#include "engine/planner.h"

#include <catch.hpp>

#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;

TEST_CASE("a sample that covers the keyspace counts the matching keys exactly", "[unit][planner]") {
  auto single = FakeCluster::SingleServer();
  FakeCluster cluster(3);
  for (FakeCluster* fc : {single.get(), &cluster}) {
    INFO(fc->size() << " node(s)");
    for (int i = 0; i < 90; ++i) fc->Put("a:" + std::to_string(i), "v");
    for (int i = 0; i < 210; ++i) fc->Put("b:" + std::to_string(i), "v");
    for (int i = 0; i < 30; ++i) fc->Put("ks:{state}:ckpt:" + std::to_string(i), "x");  // keyshift's own
    auto topo = Must(fc->OpenTopology());
    StateKeys keys("ks:");
    CHECK(Must(EstimateMatchedKeys(topo.get(), keys, "a:*", 1000)) == 90);
    CHECK(Must(EstimateMatchedKeys(topo.get(), keys, "b:1*", 1000)) == 111);
    CHECK(Must(EstimateMatchedKeys(topo.get(), keys, "a:*", 300)) == 90);  // a sample of exactly every key
  }
}

}  // namespace
}  // namespace keyshift
