// One page of a big key at a time: SCAN-family cursors for hashes, sets and
// zsets, index ranges for lists and strings.
#include "engine/copy_chunks.h"

#include <fmt/format.h>

#include "bindings/migration_script.h"

namespace keyshift {
namespace {

constexpr long long kPageElements = 1000;
constexpr long long kPageBytes = 1LL << 20;

struct Page {
  Command write;       // onto tmp
  std::string cursor;  // next position; "" = done
  long long bytes = 0;
};

// HSCAN/SSCAN/ZSCAN return [cursor, items]; ZSCAN's items are member, score
// and ZADD wants score, member.
Result<Page> ScanPage(Topology* source, const std::string& key, const std::string& type, const std::string& cursor,
                      const std::string& tmp) {
  const char* scan = type == "hash" ? "HSCAN" : type == "set" ? "SSCAN" : "ZSCAN";
  auto reply = source->Call({scan, key, cursor, "COUNT", std::to_string(kPageElements)});
  if (!reply.ok()) return reply.error();
  Page page;
  page.cursor = reply->elements[0].str == "0" ? "" : reply->elements[0].str;
  page.write = {type == "hash" ? "HSET" : type == "set" ? "SADD" : "ZADD", tmp};
  const auto& items = reply->elements[1].elements;
  for (size_t i = 0; i < items.size(); ++i) {
    page.bytes += static_cast<long long>(items[i].str.size());
    bool swap = type == "zset" && i % 2 == 0 && i + 1 < items.size();
    page.write.push_back(swap ? items[i + 1].str : type == "zset" && i % 2 == 1 ? items[i - 1].str : items[i].str);
  }
  return page;
}

// LRANGE / GETRANGE from index `cursor`.
Result<Page> RangePage(Topology* source, const std::string& key, const std::string& type, const std::string& cursor,
                       const std::string& tmp) {
  long long from = std::stoll(cursor);
  bool list = type == "list";
  long long step = list ? kPageElements : kPageBytes;
  auto reply = source->Call({list ? "LRANGE" : "GETRANGE", key, cursor, std::to_string(from + step - 1)});
  if (!reply.ok()) return reply.error();
  Page page;
  page.write = {list ? "RPUSH" : "APPEND", tmp};
  long long got = 0;
  if (list) {
    for (const auto& item : reply->elements) {
      page.write.push_back(item.str);
      page.bytes += static_cast<long long>(item.str.size());
    }
    got = static_cast<long long>(reply->elements.size());
  } else {
    page.write.push_back(reply->str);
    page.bytes = got = static_cast<long long>(reply->str.size());
  }
  page.cursor = got < step ? "" : std::to_string(from + got);
  if (got == 0) page.write.clear();
  return page;
}

}  // namespace

Result<long long> CopyInChunks(Topology* source, Topology* target, const std::string& key, const std::string& type,
                               const std::string& tmp) {
  if (auto del = target->Call({"DEL", tmp}); !del.ok()) return del.error();
  bool ranged = type == "list" || type == "string";
  std::string cursor = "0";
  long long bytes = 0;
  do {
    auto page = ranged ? RangePage(source, key, type, cursor, tmp) : ScanPage(source, key, type, cursor, tmp);
    if (!page.ok())
      return Error{page.error().exit_code, fmt::format("copying big key {}: {}", QuoteKey(key), page.error().message)};
    if (page->write.size() > 2) {
      auto wrote = target->Call(page->write);
      if (!wrote.ok())
        return Error{wrote.error().exit_code,
                     fmt::format("the target refused a chunk of big key {}: {}", QuoteKey(key), wrote.error().message)};
    }
    bytes += page->bytes;
    cursor = page->cursor;
  } while (!cursor.empty());
  return bytes;
}

}  // namespace keyshift
