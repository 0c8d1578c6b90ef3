// Unwrapping Results in unit tests: an Error fails the test with its message.
#pragma once

#include <catch.hpp>
#include <utility>

#include "core/result.h"

namespace keyshift::testing {

template <typename T>
T Must(Result<T> result) {
  if (!result.ok()) FAIL(result.error().message);
  return std::move(result.value());
}

inline void MustOk(const Status& status) {
  if (!status.ok()) FAIL(status.error().message);
}

}  // namespace keyshift::testing
