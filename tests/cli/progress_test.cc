// The progress line (cli/progress.h): keys done of the estimated total,
// rate and time left; no denominator when the total is unknown or the
// estimate turned out short.
#include "cli/progress.h"

#include <catch.hpp>

using keyshift::Progress;

TEST_CASE("progress shows keys done of the estimated matched keys, rate and time left", "[progress]") {
  Progress p(false, "0001_x", 1000);
  CHECK(p.Line(250, 200, 5.0) == "0001_x: 250 of ~1000 (25%) keys scanned, 200 changed, 50 keys/s, ~15s left");
  p.Start(200);  // resumed: the rate counts this run's keys only
  CHECK(p.Line(250, 200, 5.0) == "0001_x: 250 of ~1000 (25%) keys scanned, 200 changed, 10 keys/s, ~75s left");
}

TEST_CASE("progress past a short estimate, or without one, shows no denominator", "[progress]") {
  CHECK(Progress(false, "m", 100).Line(150, 0, 1.0) == "m: 150 keys scanned, 0 changed, 150 keys/s");
  CHECK(Progress(false, "m", 0, "journal entries undone").Line(7, 7, 0.0) ==
        "m: 7 journal entries undone, 7 changed, 0 keys/s");
}
