// The migration directory (SPEC 2): files named NNNN_slug.lua, applied in
// numeric order of NNNN. Discovery, the sha256 that drift detection compares,
// and `keyshift new` writing the next file from a commented template.
#pragma once

#include <string>
#include <vector>

#include "runtime/result.h"

namespace keyshift {

struct MigrationFile {
  long long version = 0;
  std::string slug;      // "iso_dates" for 0001_iso_dates.lua
  std::string filename;  // "0001_iso_dates.lua"
  std::string path;      // dir joined with filename, as messages show it
  std::string text;
  std::string sha256;    // hex, of text
  std::string name() const { return filename.substr(0, filename.size() - 4); }
};

struct MigrationDir {
  std::vector<MigrationFile> files;   // sorted by version
  std::vector<std::string> warnings;  // files ignored, and why
  const MigrationFile* Find(long long version) const;
};

// Reads every migration file of `dir`. A missing directory and duplicate
// versions are errors (exit 2).
Result<MigrationDir> ReadMigrationDir(const std::string& dir);

// Writes the next migration file for `slug` from the template; returns its path.
Result<std::string> WriteNewMigration(const std::string& dir, const std::string& slug);

// The description `new` writes: a migration that still has it is refused
// (check, up) until someone says what it changes.
inline constexpr const char* kPlaceholderDescription = "TODO: say what this migration changes";

// The text `new` writes (exposed for tests: the template must itself load).
std::string MigrationTemplate(const std::string& slug);

std::string Sha256Hex(const std::string& data);

}  // namespace keyshift
