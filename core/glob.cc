// Glob matching with Redis's rules (core/glob.h): backtracking on the last
// star only, which is enough for a glob and keeps the time linear-ish.
#include "core/glob.h"

namespace keyshift {
namespace {

// Matches the class starting after '[' at p[i] against byte c; leaves i on
// the closing ']' (or the end, for an unclosed class, as Redis does).
bool ClassMatches(std::string_view p, size_t& i, unsigned char c) {
  bool negate = i < p.size() && p[i] == '^';
  if (negate) ++i;
  bool hit = false;
  for (; i < p.size() && p[i] != ']'; ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      ++i;
      hit |= static_cast<unsigned char>(p[i]) == c;
    } else if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      unsigned char lo = static_cast<unsigned char>(p[i]), hi = static_cast<unsigned char>(p[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      hit |= c >= lo && c <= hi;
      i += 2;
    } else {
      hit |= static_cast<unsigned char>(p[i]) == c;
    }
  }
  return hit != negate;
}

// One pattern element at p[i] against t[j]; advances i past it.
bool StepMatches(std::string_view p, size_t& i, unsigned char c) {
  char ch = p[i];
  if (ch == '?') {
    ++i;
    return true;
  }
  if (ch == '[') {
    ++i;
    bool hit = ClassMatches(p, i, c);
    if (i < p.size()) ++i;  // the ']'
    return hit;
  }
  if (ch == '\\' && i + 1 < p.size()) ++i;
  return static_cast<unsigned char>(p[i++]) == c;
}

}  // namespace

bool GlobMatch(std::string_view p, std::string_view t) {
  size_t i = 0, j = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (j < t.size()) {
    if (i < p.size() && p[i] == '*') {
      star = ++i;
      resume = j;
      continue;
    }
    size_t next = i;
    if (i < p.size() && StepMatches(p, next, static_cast<unsigned char>(t[j]))) {
      i = next;
      ++j;
      continue;
    }
    if (star == std::string_view::npos) return false;
    i = star;
    j = ++resume;
  }
  while (i < p.size() && p[i] == '*') ++i;
  return i == p.size();
}

}  // namespace keyshift
