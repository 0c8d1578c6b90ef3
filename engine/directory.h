// The migration directory (SPEC 2): files named NNNN_slug.lua, applied in
// numeric order of NNNN. Discovery, the sha256 that drift detection compares,
// and `keyshift new` writing the next file from a commented template.
#pragma once

#include <string>
#include <vector>

#include "core/digest.h"
#include "core/migration_file.h"
#include "core/result.h"

namespace keyshift {

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

}  // namespace keyshift
