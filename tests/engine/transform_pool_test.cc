// TransformPool (--workers): outcomes, errors and ks.log lines per input, in
// input order, whichever worker ran them; limits are each state's. No server.
#include <catch.hpp>
#include <fmt/format.h>

#include "engine/transform_pool.h"
#include "tests/bindings/sandbox_helpers.h"

using namespace keyshift;
using sandbox_test::MustLoad;
using sandbox_test::Str;

namespace {

const char* const kFile = R"(return {
  description = "upper-case; fail on x:13; log every tenth; spin on x:7",
  scan = { match = "x:*", type = "string" },
  transform = function(key, value)
    if key == "x:7" then while true do end end
    if key == "x:13" then error("bad " .. key) end
    if key:match("0$") then ks.log("ten", key) end
    return value:upper()
  end,
})";

}  // namespace

TEST_CASE("TransformPool: each input's outcome, error and log lines, in input order", "[workers]") {
  auto main = MustLoad(kFile);
  auto pool = TransformPool::Create(*main, kFile, 4);
  REQUIRE(pool.ok());
  CHECK((*pool)->workers() == 4);
  std::vector<std::string> keys;
  std::vector<Value> values;
  for (int i = 0; i < 200; ++i) {
    keys.push_back(fmt::format("x:{}", i));
    values.push_back(Str(fmt::format("v{}", i)));
  }
  std::vector<TransformInput> inputs;
  for (size_t i = 0; i < keys.size(); ++i) inputs.push_back({&keys[i], &values[i]});
  std::vector<PooledTransform> out;
  for (int round = 0; round < 3; ++round) {  // the threads serve Run after Run
    (*pool)->Run(inputs, &out);
    REQUIRE(out.size() == inputs.size());
    for (size_t i = 0; i < out.size(); ++i) {
      INFO(keys[i]);
      REQUIRE(out[i].outcome.has_value());
      const auto& r = *out[i].outcome;
      if (i == 7) {
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("x:7"));  // the instruction budget, per state
      } else if (i == 13) {
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("0001_x.lua:6: bad x:13"));
      } else {
        REQUIRE(r.ok());
        CHECK(r->value == Str(fmt::format("V{}", i)));
      }
      CHECK(out[i].log == (i % 10 == 0 ? std::vector<std::string>{"ten " + keys[i]} : std::vector<std::string>{}));
    }
  }
}

TEST_CASE("DefaultWorkers: 1 on two cores or fewer, then half the cores, capped", "[workers]") {
  CHECK(DefaultWorkers(0) == 1);  // hardware_concurrency() may not know
  CHECK(DefaultWorkers(2) == 1);
  CHECK(DefaultWorkers(4) == 2);
  CHECK(DefaultWorkers(6) == 3);
  CHECK(DefaultWorkers(64) == kMaxDefaultWorkers);
}
