// Rewriting `R:find(...)` method calls for server mode (see string_methods.h).
#include "server_mode/string_methods.h"

#include <map>
#include <vector>

#include "server_mode/portability.h"

namespace keyshift {

namespace {

bool IsOp(const SourceToken& t, const char* op) { return t.kind == SourceToken::kOp && t.text == op; }

bool IsPatternMethod(const SourceToken& t) {
  return t.kind == SourceToken::kName && (t.text == "find" || t.text == "match" || t.text == "gmatch" || t.text == "gsub");
}

// Index of the bracket that opens the one closing at `close`, or -1.
long Opening(const std::vector<SourceToken>& toks, long close) {
  const std::string& closer = toks[close].text;
  const char* opener = closer == ")" ? "(" : closer == "]" ? "[" : "{";
  int depth = 0;
  for (long k = close; k >= 0; --k) {
    if (IsOp(toks[k], closer.c_str())) ++depth;
    if (IsOp(toks[k], opener) && --depth == 0) return k;
  }
  return -1;
}

// Whether the token before a '(' (or a string or table argument) ends a prefix
// expression, making it a call rather than a parenthesised expression.
bool EndsPrefix(const SourceToken& t) {
  return t.kind == SourceToken::kName || t.kind == SourceToken::kString || IsOp(t, ")") || IsOp(t, "]") ||
         IsOp(t, "}");
}

// First token of the prefix expression that ends at `k`, or -1 when it is not
// one this rewrite understands (the call is then left as it is).
long ReceiverStart(const std::vector<SourceToken>& toks, long k) {
  while (k >= 0) {
    const SourceToken& t = toks[k];
    if (t.kind == SourceToken::kName) {
      if (k > 0 && (IsOp(toks[k - 1], ".") || IsOp(toks[k - 1], ":"))) {
        k -= 2;
        continue;
      }
      return k;
    }
    bool bracket = IsOp(t, ")") || IsOp(t, "]") || IsOp(t, "}");
    if (!bracket && t.kind != SourceToken::kString) return -1;
    long open = bracket ? Opening(toks, k) : k;
    if (open < 0) return -1;
    bool suffix = IsOp(t, "]") || (open > 0 && EndsPrefix(toks[open - 1]));
    if (!suffix) return IsOp(t, ")") ? open : -1;  // a parenthesised expression starts the receiver
    k = open - 1;
  }
  return -1;
}

}  // namespace

std::string GuardStringMethods(const std::string& source) {
  std::vector<SourceToken> toks = LexLua(source);
  std::map<size_t, std::string> insert_at;        // byte offset -> text inserted there
  std::map<size_t, std::pair<size_t, std::string>> replace;  // begin -> (end, text)
  for (long i = 1; i + 1 < static_cast<long>(toks.size()); ++i) {
    if (!IsOp(toks[i], ":") || !IsPatternMethod(toks[i + 1])) continue;
    long start = ReceiverStart(toks, i - 1);
    if (start < 0) continue;
    insert_at[toks[start].begin] += std::string(kMethodHelper) + "(";
    replace[toks[i].begin] = {toks[i + 1].end, ", '" + toks[i + 1].text + "')"};
  }
  std::string out;
  out.reserve(source.size() + 32 * replace.size());
  for (size_t pos = 0; pos <= source.size();) {
    if (auto it = insert_at.find(pos); it != insert_at.end()) out += it->second;
    if (auto it = replace.find(pos); it != replace.end()) {
      out += it->second.second;
      pos = it->second.first;
      continue;
    }
    if (pos < source.size()) out += source[pos];
    ++pos;
  }
  return out;
}

}  // namespace keyshift
