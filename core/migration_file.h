// One migration file as read from the migrations directory (engine/directory.h
// reads them): plain data, so server mode can build scripts from it.
#pragma once

#include <string>

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

}  // namespace keyshift
