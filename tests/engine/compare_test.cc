// The expiry tolerance of `keyshift compare` (engine/compare.h).
#include <catch.hpp>

#include "engine/compare.h"

namespace keyshift {

TEST_CASE("compare: expiries differ when one side has none or past max(2 s, 1% of the time left)", "[compare]") {
  const long long now = 1'800'000'000'000;
  CHECK_FALSE(ExpiriesDiffer(0, 0, now));
  CHECK(ExpiriesDiffer(0, now + 5000, now));
  CHECK(ExpiriesDiffer(now + 5000, 0, now));
  CHECK_FALSE(ExpiriesDiffer(now + 5000, now + 7000, now));  // 2 s apart: within
  CHECK(ExpiriesDiffer(now + 5000, now + 7001, now));
  // A day left: 1% is 864 s.
  const long long day = 86'400'000;
  CHECK_FALSE(ExpiriesDiffer(now + day, now + day - 864'000, now));
  CHECK(ExpiriesDiffer(now + day, now + day - 864'001, now));
  // Already past on the source: 2 s still.
  CHECK(ExpiriesDiffer(now - 10'000, now - 7'000, now));
}

TEST_CASE("compare: difference names", "[compare]") {
  CHECK(std::string(DifferenceName(Difference::kMissing)) == "missing");
  CHECK(std::string(DifferenceName(Difference::kExtra)) == "extra");
  CHECK(std::string(DifferenceName(Difference::kTtl)) == "ttl");
}

}  // namespace keyshift
