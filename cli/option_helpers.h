// Helpers for declaring options, shared by cli.cc and the copy/compare
// options (copy_options.cc): environment defaults, bounded integers, and
// options whose words are an enum's.
#pragma once

#include <charconv>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli.h"

namespace keyshift {

inline std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// A number as the user typed it, cut to something readable: a 300-digit
// value is shown by its first digits and its length.
inline std::string ShortNumber(const std::string& text) {
  if (text.size() <= 24) return "'" + text + "'";
  return fmt::format("'{}...' ({} characters)", text.substr(0, 12), text.size());
}

// An integer option within [lo, hi]: CLI11's own checks print the whole input
// and accept 1e300 or 99...9 as "infinite" for some types.
inline CLI::Validator IntIn(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        long long v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        bool digits = !text.empty() && end == text.data() + text.size();
        if (!digits && ec != std::errc::result_out_of_range)
          return fmt::format("{} is not a whole number", ShortNumber(text));
        if (ec == std::errc::result_out_of_range || v < lo || v > hi)
          return fmt::format("{} is out of range {}..{}", ShortNumber(text), lo, hi);
        return "";
      },
      fmt::format("{}..{}", lo, hi));
}

// An option whose words are an enum's (its name table's `words`): CLI11
// checks the word first, so `parse` always succeeds and `out` gets the enumerator.
template <typename T, typename Parse>
CLI::Option* AddWordOption(CLI::App& app, const std::string& name, T* out, std::vector<std::string> words, Parse parse,
                           const std::string& help) {
  return app.add_option_function<std::string>(name, [out, parse](const std::string& w) { *out = *parse(w); }, help)
      ->check(CLI::IsMember(std::move(words)));
}

// Versions are at most 15 digits (directory.h); counts stay far below 2^63.
constexpr long long kMaxVersion = 999'999'999'999'999;
constexpr long long kMaxCount = 1'000'000'000'000;

// copy_options.cc
void AddCopy(CLI::App& app, CliOptions& o);
void AddCompare(CLI::App& app, CliOptions& o);

}  // namespace keyshift
