// An enum's words (what keyshift stores in Redis or prints) in one table per
// enum, so that writing a value and reading it back cannot disagree: the
// Name and Parse functions of each enum are these over its table.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace keyshift {

template <typename E>
struct EnumWord {
  E value;
  const char* word;
};

template <typename E, size_t N>
const char* WordOf(const EnumWord<E> (&table)[N], E value) {
  for (const auto& w : table)
    if (w.value == value) return w.word;
  return "?";  // an enumerator without a row: the round-trip tests catch it
}

template <typename E, size_t N>
std::vector<std::string> Words(const EnumWord<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& w : table) out.emplace_back(w.word);
  return out;
}

// An unknown word (e.g. state written by something else) is an error that
// names it and the words it could have been: `<what> "x" is none of a, b`.
template <typename E, size_t N>
Result<E> ParseWord(const EnumWord<E> (&table)[N], std::string_view word, std::string_view what) {
  std::string known;
  for (const auto& w : table) {
    if (word == w.word) return w.value;
    known += (known.empty() ? "" : ", ") + std::string(w.word);
  }
  return Fail(std::string(what) + " \"" + std::string(word) + "\" is none of " + known);
}

}  // namespace keyshift
