// Owns the dry-run diff of one key: terminal-safe text, the line diff (LCS
// over a prefix/suffix-trimmed middle), per-type comparison and coloring.
#include "cli/diff.h"

#include "core/text.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keyshift {

namespace {

constexpr size_t kMaxLineBytes = 200;    // a wider line wraps and hides the diff
constexpr size_t kMaxBlockLines = 50;    // of a deleted value or an unaligned block: a taste, not all
constexpr size_t kMaxAlignLines = 2000;  // per side; the LCS table is (n+1)*(m+1) cells

// ---------------------------------------------------------------------------
// Terminal-safe text

std::string Count(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// Escapes raw bytes and cuts the printed result at kMaxLineBytes; the cut is
// counted in input bytes, which is what the user can look up in Redis.
std::string Printable(std::string_view raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t used = 0;
    std::string unit = EscapeUnit(raw, i, &used);
    if (out.size() + unit.size() > kMaxLineBytes) break;
    out += unit;
    i += used;
  }
  if (i < raw.size()) out += "… (" + Count(raw.size() - i, "more byte") + ")";
  return out;
}

// ---------------------------------------------------------------------------
// Output lines: diffing produces these; only Render knows about prefixes and color.

enum class Mark { kOld, kNew, kSame, kNote, kFrom, kTo, kHunk };

struct Line {
  Mark mark;
  std::string text;
};
using Lines = std::vector<Line>;

void AddNote(const std::string& text, Lines* out) { out->push_back({Mark::kNote, "(" + text + ")"}); }

// Stands in for lines left out of a long block.
void AddMore(size_t hidden, Lines* out) {
  out->push_back({Mark::kNote, "… " + std::to_string(hidden) + " more"});
}

struct Decor {
  const char* prefix;
  const char* color;  // "" = never colored
};

Decor DecorFor(Mark mark) {
  switch (mark) {
    case Mark::kOld: return {"-", "\x1b[31m"};
    case Mark::kNew: return {"+", "\x1b[32m"};
    case Mark::kSame: return {" ", ""};
    case Mark::kNote: return {" ", ""};
    case Mark::kFrom: return {"--- ", "\x1b[1m"};
    case Mark::kTo: return {"+++ ", "\x1b[1m"};
    case Mark::kHunk: return {"", "\x1b[36m"};
  }
  return {"", ""};
}

std::string Render(const Lines& lines, const DiffStyle& style) {
  std::string out;
  for (const Line& line : lines) {
    const Decor decor = DecorFor(line.mark);
    // Reset on every line so a cut-off or interleaved output never bleeds color.
    const bool paint = style.color && *decor.color;
    if (paint) out += decor.color;
    out += decor.prefix;
    out += line.text;
    if (paint) out += "\x1b[0m";
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------
// Line diff: edit script, hunks

using Seq = std::vector<std::string_view>;

// A multi-line string as lines. Every '\n' ends a line, so a trailing newline
// yields a last empty line: "a\n" and "a" differ visibly, as they do in Redis.
Seq SplitLines(std::string_view s) {
  Seq lines;
  size_t start = 0;
  for (size_t nl; (nl = s.find('\n', start)) != std::string_view::npos; start = nl + 1)
    lines.push_back(s.substr(start, nl - start));
  lines.push_back(s.substr(start));
  return lines;
}

enum class Op { kSame, kDel, kIns };

// One step of the script, with the positions in a and b it applies at.
struct Edit {
  Op op;
  size_t a;
  size_t b;
};

struct Script {
  std::vector<Edit> edits;
  size_t a = 0, b = 0;
  void Add(Op op, size_t times = 1) {
    for (size_t k = 0; k < times; ++k) {
      edits.push_back({op, a, b});
      a += op != Op::kIns;
      b += op != Op::kDel;
    }
  }
};

// Lines as small integers, so the O(n*m) table compares ints, not strings.
std::pair<std::vector<int>, std::vector<int>> Intern(std::span<const std::string_view> a,
                                                     std::span<const std::string_view> b) {
  std::unordered_map<std::string_view, int> ids;
  auto id = [&](std::string_view line) { return ids.emplace(line, int(ids.size())).first->second; };
  std::vector<int> ia, ib;
  for (auto line : a) ia.push_back(id(line));
  for (auto line : b) ib.push_back(id(line));
  return {std::move(ia), std::move(ib)};
}

// Longest common subsequence, table of suffix lengths. Ties prefer deleting,
// so within a changed region the - lines come before the + lines.
void AlignByLcs(std::span<const std::string_view> a_lines, std::span<const std::string_view> b_lines,
                Script* script) {
  const auto [a, b] = Intern(a_lines, b_lines);
  const size_t n = a.size(), m = b.size();
  std::vector<uint16_t> table((n + 1) * (m + 1), 0);  // fits: the LCS <= kMaxAlignLines
  auto at = [&](size_t i, size_t j) -> uint16_t& { return table[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    Op op = Op::kIns;
    if (i < n && j < m && a[i] == b[j])
      op = Op::kSame;
    else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1)))
      op = Op::kDel;
    script->Add(op);
    i += op != Op::kIns;
    j += op != Op::kDel;
  }
}

// Edit script from a to b. The common prefix and suffix are trimmed first:
// migrations usually touch a little of a value, so the LCS sees little. A
// middle too long for the table is replaced wholesale (*aligned = false).
Script Align(const Seq& a, const Seq& b, bool* aligned) {
  size_t pre = 0, suf = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  const std::span<const std::string_view> mid_a(a.data() + pre, a.size() - pre - suf);
  const std::span<const std::string_view> mid_b(b.data() + pre, b.size() - pre - suf);
  Script script;
  script.Add(Op::kSame, pre);
  *aligned = mid_a.size() <= kMaxAlignLines && mid_b.size() <= kMaxAlignLines;
  if (*aligned) {
    AlignByLcs(mid_a, mid_b, &script);
  } else {
    script.Add(Op::kDel, mid_a.size());
    script.Add(Op::kIns, mid_b.size());
  }
  script.Add(Op::kSame, suf);
  return script;
}

using Range = std::pair<size_t, size_t>;  // [begin, end) in the edit script

// Changes with `context` unchanged lines around them; changes closer than
// 2*context share one hunk, as in diff -u.
std::vector<Range> HunkRanges(const std::vector<Edit>& edits, size_t context) {
  std::vector<Range> hunks;
  for (size_t k = 0; k < edits.size(); ++k) {
    if (edits[k].op == Op::kSame) continue;
    const size_t begin = k >= context ? k - context : 0;
    const size_t end = std::min(edits.size(), k + 1 + context);
    if (!hunks.empty() && begin <= hunks.back().second)
      hunks.back().second = end;
    else
      hunks.push_back({begin, end});
  }
  return hunks;
}

// "start,count", 1-based; an empty range names the line before it, as diff -u does.
std::string RangeText(size_t start, size_t count) {
  return std::to_string(count ? start + 1 : start) + "," + std::to_string(count);
}

std::string HunkHeader(const std::vector<Edit>& edits, Range range) {
  size_t a_count = 0, b_count = 0;
  for (size_t k = range.first; k < range.second; ++k) {
    a_count += edits[k].op != Op::kIns;
    b_count += edits[k].op != Op::kDel;
  }
  const Edit& first = edits[range.first];
  return "@@ -" + RangeText(first.a, a_count) + " +" + RangeText(first.b, b_count) + " @@";
}

Line LineFor(const Edit& edit, const Seq& a, const Seq& b) {
  if (edit.op == Op::kIns) return {Mark::kNew, Printable(b[edit.b])};
  return {edit.op == Op::kDel ? Mark::kOld : Mark::kSame, Printable(a[edit.a])};
}

// One hunk; runs of more than max_run - or + lines are elided with a count.
void EmitHunk(const Seq& a, const Seq& b, const std::vector<Edit>& edits, Range range, size_t max_run,
              Lines* out) {
  out->push_back({Mark::kHunk, HunkHeader(edits, range)});
  size_t run = 0, hidden = 0;
  for (size_t k = range.first; k < range.second; ++k) {
    const bool continues = k > range.first && edits[k - 1].op == edits[k].op;
    if (!continues && hidden) AddMore(hidden, out);
    if (!continues) hidden = 0;
    run = continues ? run + 1 : 1;
    if (edits[k].op != Op::kSame && run > max_run) {
      ++hidden;
      continue;
    }
    out->push_back(LineFor(edits[k], a, b));
  }
  if (hidden) AddMore(hidden, out);
}

// Says why a long value is shown as blocks of - and + instead of aligned lines.
void AddTooLargeNote(const std::vector<Edit>& edits, std::string_view noun, Lines* out) {
  size_t removed = 0, added = 0;
  for (const Edit& edit : edits) {
    removed += edit.op == Op::kDel;
    added += edit.op == Op::kIns;
  }
  AddNote("too large to align: " + Count(removed, noun) + " removed, " + std::to_string(added) + " added",
          out);
}

void DiffSequence(const Seq& a, const Seq& b, std::string_view noun, int context, Lines* out) {
  bool aligned = true;
  const Script script = Align(a, b, &aligned);
  if (!aligned) AddTooLargeNote(script.edits, noun, out);
  const size_t max_run = aligned ? std::numeric_limits<size_t>::max() : kMaxBlockLines;
  for (Range range : HunkRanges(script.edits, size_t(std::max(context, 0))))
    EmitHunk(a, b, script.edits, range, max_run, out);
}

// ---------------------------------------------------------------------------
// Per type

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Value keeps pairs and set members sorted, but a caller that built one by
// hand may not have, and the merge walks below would then report nonsense.
// Sorts into *storage only then, so the normal case copies nothing.
template <typename T>
const std::vector<T>& Sorted(const std::vector<T>& items, std::vector<T>* storage) {
  if (std::is_sorted(items.begin(), items.end())) return items;
  *storage = items;
  std::sort(storage->begin(), storage->end());
  return *storage;
}

std::string PairText(const std::pair<std::string, std::string>& pair) {
  return Printable(pair.first + ": " + pair.second);
}

// Field by field, in bytewise field order; unchanged fields only counted.
void DiffPairs(const Pairs& before_in, const Pairs& after_in, std::string_view noun, Lines* out) {
  Pairs storage[2];
  const Pairs &before = Sorted(before_in, &storage[0]), &after = Sorted(after_in, &storage[1]);
  size_t i = 0, j = 0, same = 0;
  while (i < before.size() || j < after.size()) {
    const bool old_only = j == after.size() || (i < before.size() && before[i].first < after[j].first);
    const bool new_only = !old_only && (i == before.size() || after[j].first < before[i].first);
    if (!new_only && !old_only && before[i].second == after[j].second) {
      ++same, ++i, ++j;
      continue;
    }
    if (!new_only) out->push_back({Mark::kOld, PairText(before[i++])});
    if (!old_only) out->push_back({Mark::kNew, PairText(after[j++])});
  }
  if (same) AddNote(Count(same, noun) + " unchanged", out);
}

void DiffSet(const std::vector<std::string>& before_in, const std::vector<std::string>& after_in,
             Lines* out) {
  std::vector<std::string> storage[2];
  const auto &before = Sorted(before_in, &storage[0]), &after = Sorted(after_in, &storage[1]);
  size_t i = 0, j = 0, same = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && before[i] < after[j])) {
      out->push_back({Mark::kOld, Printable(before[i++])});
    } else if (i == before.size() || after[j] < before[i]) {
      out->push_back({Mark::kNew, Printable(after[j++])});
    } else {
      ++same, ++i, ++j;
    }
  }
  if (same) AddNote(Count(same, "member") + " unchanged", out);
}

void DiffString(const std::string& before, const std::string& after, int context, Lines* out) {
  const bool one_line = before.find('\n') == std::string::npos && after.find('\n') == std::string::npos;
  if (one_line) {
    out->push_back({Mark::kOld, Printable(before)});
    out->push_back({Mark::kNew, Printable(after)});
    return;
  }
  DiffSequence(SplitLines(before), SplitLines(after), "line", context, out);
}

Seq Views(const std::vector<std::string>& items) { return Seq(items.begin(), items.end()); }

// The whole value, one line per line / field / element, capped at
// kMaxBlockLines: enough to recognise what a delete throws away.
void AddWholeValue(Mark mark, const Value& value, Lines* out) {
  const bool is_pairs = value.type == KeyType::kHash || value.type == KeyType::kZSet;
  const Seq lines = value.type == KeyType::kString ? SplitLines(value.str) : Views(value.items);
  const size_t total = is_pairs ? value.pairs.size() : lines.size();
  const size_t shown = std::min(total, kMaxBlockLines);
  for (size_t k = 0; k < shown; ++k)
    out->push_back({mark, is_pairs ? PairText(value.pairs[k]) : Printable(lines[k])});
  if (total > shown) AddMore(total - shown, out);
}

void AddValueDiff(const Value& before, const Value& after, int context, Lines* out) {
  switch (before.type) {
    case KeyType::kString: return DiffString(before.str, after.str, context, out);
    case KeyType::kHash: return DiffPairs(before.pairs, after.pairs, "field", out);
    case KeyType::kZSet: return DiffPairs(before.pairs, after.pairs, "member", out);
    case KeyType::kList: return DiffSequence(Views(before.items), Views(after.items), "item", context, out);
    case KeyType::kSet: return DiffSet(before.items, after.items, out);
    default: return AddNote("values of this type are not shown", out);
  }
}

// ---------------------------------------------------------------------------
// Header

// Whole seconds: PTTL was read at some instant and keeps falling, so its ms
// are noise; only under a second are they all there is.
std::string TtlText(long long pttl_ms) {
  if (pttl_ms < 0) return "no ttl";
  if (pttl_ms < 1000) return "ttl " + std::to_string(pttl_ms) + "ms";
  return "ttl " + std::to_string((pttl_ms + 500) / 1000) + "s";
}

std::string SizeText(const Value& value) {
  const std::string type = KeyTypeName(value.type);
  switch (value.type) {
    case KeyType::kString: return type + " of " + Count(value.str.size(), "byte");
    case KeyType::kHash: return type + " of " + Count(value.pairs.size(), "field");
    case KeyType::kZSet: return type + " of " + std::to_string(value.pairs.size());
    case KeyType::kList:
    case KeyType::kSet: return type + " of " + std::to_string(value.items.size());
    default: return type;
  }
}

// What the key is: action, type (and its size when deleted), TTL.
std::string Summary(const KeyChange& change) {
  const std::string ttl = TtlText(change.before_pttl_ms);
  if (change.action == KeyAction::kDelete) return "deleted, " + SizeText(change.before) + ", " + ttl;
  if (change.action == KeyAction::kCreate) return "created, " + SizeText(change.after) + ", " + ttl;
  std::string type = KeyTypeName(change.before.type);
  if (change.after.type != change.before.type) type += std::string(" -> ") + KeyTypeName(change.after.type);
  return (change.action == KeyAction::kRename ? "renamed, " : "") + type + ", " + ttl;
}

void AddHeader(const KeyChange& change, Lines* out) {
  out->push_back({Mark::kFrom, change.action == KeyAction::kCreate ? "/dev/null" : Printable(change.key)});
  if (change.action == KeyAction::kDelete)
    out->push_back({Mark::kTo, "/dev/null"});
  else
    out->push_back({Mark::kTo, Printable(change.action == KeyAction::kRename ? change.new_key : change.key)});
  out->push_back({Mark::kHunk, "@@ " + Summary(change) + " @@"});
}

void AddBody(const KeyChange& change, int context, Lines* out) {
  if (change.action == KeyAction::kDelete) return AddWholeValue(Mark::kOld, change.before, out);
  if (change.action == KeyAction::kCreate) return AddWholeValue(Mark::kNew, change.after, out);
  if (change.before == change.after) return AddNote("value unchanged", out);
  if (change.before.type == change.after.type) return AddValueDiff(change.before, change.after, context, out);
  // Not produced by keyshift's transforms (same type in, same type out), but
  // if it happens the honest picture is: all of the old, all of the new.
  AddWholeValue(Mark::kOld, change.before, out);
  AddWholeValue(Mark::kNew, change.after, out);
}

}  // namespace

std::string RenderDiff(const KeyChange& change, const DiffStyle& style) {
  Lines lines;
  AddHeader(change, &lines);
  AddBody(change, style.context, &lines);
  return Render(lines, style);
}

}  // namespace keyshift
