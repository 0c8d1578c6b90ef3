// Migration file discovery, hashing and the `new` template.
#include "engine/directory.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

namespace keyshift {

namespace fs = std::filesystem;

namespace {

const std::regex kFileName(R"(^([0-9]+)_([A-Za-z0-9_-]+)\.lua$)");

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError(fmt::format("cannot read {}", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty() || dir == ".") return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

// Why `entry` cannot be read as a migration file, or "" when it is a regular
// file (or a symlink to one). Never opens it: opening a FIFO blocks.
std::string NotAFile(const fs::directory_entry& entry) {
  std::error_code ec;
  fs::file_status own = entry.symlink_status(ec);
  if (ec) return "cannot inspect it: " + ec.message();
  fs::file_status target = fs::status(entry.path(), ec);
  bool link = fs::is_symlink(own);
  if (ec || target.type() == fs::file_type::not_found) {
    if (!link) return "cannot inspect it: " + ec.message();
    return ec.value() == ELOOP ? "a symlink loop" : "a dangling symlink";
  }
  std::string what;
  switch (target.type()) {
    case fs::file_type::regular: return "";
    case fs::file_type::directory: what = "a directory"; break;
    case fs::file_type::fifo: what = "a FIFO"; break;
    case fs::file_type::socket: what = "a socket"; break;
    case fs::file_type::block:
    case fs::file_type::character: what = "a device"; break;
    default: what = "not a regular file"; break;
  }
  return link ? "a symlink to " + what : what;
}

}  // namespace

const MigrationFile* MigrationDir::Find(long long version) const {
  for (const auto& f : files)
    if (f.version == version) return &f;
  return nullptr;
}

Result<MigrationDir> ReadMigrationDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return UsageError(fmt::format("migration directory '{}' does not exist (set --dir or KEYSHIFT_DIR)", dir));
  MigrationDir out;
  std::vector<fs::directory_entry> entries(fs::directory_iterator(dir, ec), fs::directory_iterator());
  if (ec) return UsageError(fmt::format("cannot list '{}': {}", dir, ec.message()));
  for (const auto& entry : entries) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::smatch m;
    bool named = std::regex_match(name, m, kFileName);
    std::string not_a_file = NotAFile(entry);
    if (!not_a_file.empty()) {
      // Only entries named like migrations are worth a word: a subdirectory
      // of helpers is not a mistake, a 0002_x.lua that cannot be read is.
      if (named) out.warnings.push_back(fmt::format("ignoring {}: {}", JoinPath(dir, name), not_a_file));
      continue;
    }
    if (!named) {
      out.warnings.push_back(fmt::format("ignoring {}: not named NNNN_slug.lua", JoinPath(dir, name)));
      continue;
    }
    MigrationFile f;
    if (m[1].str().size() > 15)
      return UsageError(fmt::format("{}: the version number has {} digits; at most 15",
                                    JoinPath(dir, m[1].str().substr(0, 12) + "..._" + m[2].str() + ".lua"),
                                    m[1].str().size()));
    f.version = std::stoll(m[1].str());
    f.slug = m[2].str();
    f.filename = name;
    f.path = JoinPath(dir, name);
    auto text = ReadFile(entry.path());
    if (!text.ok()) return text.error();
    f.text = std::move(text.value());
    f.sha256 = Sha256Hex(f.text);
    out.files.push_back(std::move(f));
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  for (size_t i = 1; i < out.files.size(); ++i)
    if (out.files[i].version == out.files[i - 1].version)
      return UsageError(fmt::format("duplicate migration version {}: {} and {}", out.files[i].version,
                                    out.files[i - 1].path, out.files[i].path));
  std::sort(out.warnings.begin(), out.warnings.end());
  return out;
}

namespace {

// What the user typed may be a migration's name ("0001_x", copied from a
// listing or a habit): the version is always the next free one, so a number
// in front is not part of the slug.
std::string BareSlug(const std::string& typed) {
  static const std::regex numbered("^[0-9]+_(.+)$");
  std::smatch m;
  return std::regex_match(typed, m, numbered) ? m[1].str() : typed;
}

}  // namespace

Result<std::string> WriteNewMigration(const std::string& dir, const std::string& typed) {
  std::string slug = BareSlug(typed);
  if (!std::regex_match(slug, std::regex("^[A-Za-z0-9_-]+$")))
    return UsageError(fmt::format("invalid slug '{}': use letters, digits, '_' and '-'", slug));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return UsageError(fmt::format("cannot create '{}': {}", dir, ec.message()));
  auto existing = ReadMigrationDir(dir);
  if (!existing.ok()) return existing.error();
  long long next = existing->files.empty() ? 1 : existing->files.back().version + 1;
  int width = 4;
  if (!existing->files.empty()) width = std::max<int>(width, existing->files.back().filename.find('_'));
  std::string path = JoinPath(dir, fmt::format("{:0{}}_{}.lua", next, width, slug));
  std::ofstream out(path, std::ios::binary);
  out << MigrationTemplate(slug);
  if (!out) return UsageError(fmt::format("cannot write {}", path));
  return path;
}

std::string MigrationTemplate(const std::string& slug) {
  return fmt::format(R"LUA(-- keyshift migration: {slug}
-- The file returns one table. keyshift scans the keys `scan` names and calls
-- `transform(key, value)` on each. Reference: docs/migrations.md
return {{
  -- Required. One line that says what changes; shown by `keyshift status`.
  description = "{placeholder}",

  -- Who to ask about it, what success looks like, and how to back out.
  owner    = "TODO: team or person",
  expected = "TODO: e.g. every user:* hash has an integer created_at",
  rollback = "keyshift down restores the journaled values",

  -- Which keys: a SCAN MATCH pattern, optionally one Redis type (string,
  -- hash, list, set, zset), and how many keys to read and write per batch.
  scan = {{ match = "TODO:*", type = "hash", batch = 500 }},

  -- "host": keyshift runs the transform (default). "server": Redis runs it
  -- as one atomic script per key (see docs/server-mode.md).
  mode = "host",

  -- Required. `value` is a Lua value by key type: string -> string;
  -- hash -> table field -> string; list -> array of strings; set -> sorted
  -- array of strings; zset -> table member -> score.
  -- Return nil to leave the key alone, a new value of the same type to
  -- rewrite it, ks.DELETE to delete it, or ks.rename(new_key, value) to move
  -- it. TTLs are kept. Numbers are written canonically ("5", "0.1").
  -- Available: string, table, math, utf8, os.time, json, time, ks.
  transform = function(key, value)
    return nil
  end,

  -- Optional. Checked by `keyshift verify`: return true, or false and a reason.
  verify = function(key, value)
    return true
  end,
}}
)LUA",
                     fmt::arg("slug", slug), fmt::arg("placeholder", kPlaceholderDescription));
}

}  // namespace keyshift
