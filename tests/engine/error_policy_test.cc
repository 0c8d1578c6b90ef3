// ErrorPolicy (engine/error_policy.h) without a server: what --on-error abort
// and skip do with a failed key, and the --max-errors budget.
#include "engine/error_policy.h"

#include <catch.hpp>
#include <string>
#include <utility>
#include <vector>

using keyshift::Counters;
using keyshift::ErrorPolicy;
using keyshift::Fail;
using keyshift::OnError;
using keyshift::RunReport;

namespace {

struct Reported {
  std::vector<std::pair<std::string, std::string>> keys;
  ErrorPolicy::KeyErrorSink Sink() {
    return [this](const std::string& key, const std::string& message) { keys.emplace_back(key, message); };
  }
};

}  // namespace

TEST_CASE("ErrorPolicy abort: the first failure stops the run and is the one reported", "[error_policy]") {
  Counters counters;
  Reported reported;
  ErrorPolicy policy(OnError::kAbort, 0, reported.Sink(), &counters);
  CHECK_FALSE(policy.stopped());
  policy.KeyFailed("k1", Fail("first"));
  policy.KeyFailed("k2", Fail("second"));
  CHECK(policy.stopped());
  CHECK(counters.failed == 2);
  CHECK(reported.keys.empty());         // abort reports the stop, not each key
  CHECK(policy.TakeSkipped().empty());  // nothing goes to the failed-keys set
  RunReport report;
  policy.Report(&report);
  CHECK_FALSE(report.ok);
  CHECK(report.error.message == "first");
  CHECK(report.failed_key == "k1");
}

TEST_CASE("ErrorPolicy skip: failed keys are reported and remembered, the run goes on", "[error_policy]") {
  Counters counters;
  Reported reported;
  ErrorPolicy policy(OnError::kSkip, 0, reported.Sink(), &counters);
  policy.KeyFailed("a", Fail("bad a"));
  policy.KeyFailed("b", Fail("bad b"));
  CHECK_FALSE(policy.stopped());
  CHECK_FALSE(policy.StopIfOverBudget());  // 0: no limit
  CHECK(counters.failed == 2);
  CHECK(reported.keys == std::vector<std::pair<std::string, std::string>>{{"a", "bad a"}, {"b", "bad b"}});
  CHECK(policy.TakeSkipped() == std::vector<std::string>{"a", "b"});
  CHECK(policy.TakeSkipped().empty());  // each batch's own
  RunReport report;
  policy.Report(&report);
  CHECK(report.ok);
}

TEST_CASE("ErrorPolicy --max-errors: the batch completes, then the run stops naming the key that reached it",
          "[error_policy]") {
  Counters counters;
  counters.failed = 1;  // left by an earlier run: the budget is the migration's
  Reported reported;
  ErrorPolicy policy(OnError::kSkip, 3, reported.Sink(), &counters);
  policy.KeyFailed("x", Fail("bad x"));
  CHECK_FALSE(policy.StopIfOverBudget());
  policy.KeyFailed("y", Fail("bad y"));
  policy.KeyFailed("z", Fail("bad z"));
  CHECK_FALSE(policy.stopped());  // the rest of the batch still runs
  CHECK(policy.TakeSkipped() == std::vector<std::string>{"x", "y", "z"});
  CHECK(reported.keys.size() == 3);
  CHECK(policy.StopIfOverBudget());
  CHECK(policy.stopped());
  RunReport report;
  policy.Report(&report);
  CHECK_FALSE(report.ok);
  CHECK(report.failed_key == "y");
  CHECK(report.error.message == "3 failed keys reached --max-errors 3; stopped after the batch; last: bad y");
}

TEST_CASE("ErrorPolicy: a run-level stop (memory guard) names no key", "[error_policy]") {
  Counters counters;
  ErrorPolicy policy(OnError::kSkip, 0, nullptr, &counters);
  policy.Stop(Fail("memory"));
  policy.KeyFailed("late", Fail("late failure"));  // no sink: nothing to call
  CHECK(counters.failed == 1);
  RunReport report;
  policy.Report(&report);
  CHECK(report.error.message == "memory");
  CHECK(report.failed_key.empty());
}
