// The migration directory (engine/directory.h, SPEC 2): discovery, numeric
// ordering, duplicates, warnings, sha256, and `keyshift new`.
#include "engine/directory.h"

#include <sys/stat.h>

#include <catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bindings/migration_script.h"

namespace fs = std::filesystem;
using keyshift::MigrationDir;
using keyshift::MigrationScript;
using keyshift::MigrationTemplate;
using keyshift::ReadMigrationDir;
using keyshift::Sha256Hex;
using keyshift::WriteNewMigration;

namespace {

// A fresh directory under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("keyshift_directory_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string str() const { return path_.string(); }
  std::string Join(const std::string& name) const { return (path_ / name).string(); }

  void Write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
    REQUIRE(out.good());
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(path_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  fs::path path_;
};

const std::string kBody = "return { description = 'd', transform = function(key, value) end }\n";

MigrationDir MustRead(const TempDir& dir) {
  auto r = ReadMigrationDir(dir.str());
  if (!r.ok()) FAIL("unexpected error: " << r.error().message);
  return r.value();
}

std::vector<long long> Versions(const MigrationDir& d) {
  std::vector<long long> out;
  for (const auto& f : d.files) out.push_back(f.version);
  return out;
}

}  // namespace

TEST_CASE("an empty directory has no migrations", "[directory]") {
  TempDir dir;
  auto d = MustRead(dir);
  CHECK(d.files.empty());
  CHECK(d.warnings.empty());
}

TEST_CASE("migration files are read with their version, slug, path, text and sha256", "[directory]") {
  TempDir dir;
  dir.Write("0001_iso_dates.lua", kBody);
  auto d = MustRead(dir);
  REQUIRE(d.files.size() == 1);
  const auto& f = d.files[0];
  CHECK(f.version == 1);
  CHECK(f.slug == "iso_dates");
  CHECK(f.filename == "0001_iso_dates.lua");
  CHECK(f.name() == "0001_iso_dates");
  CHECK(f.path == dir.str() + "/0001_iso_dates.lua");
  CHECK(f.text == kBody);
  CHECK(f.sha256 == Sha256Hex(kBody));
  CHECK(d.Find(1) == &d.files[0]);
  CHECK(d.Find(2) == nullptr);
}

TEST_CASE("slugs may hold letters, digits, '_' and '-'", "[directory]") {
  TempDir dir;
  dir.Write("0003_Move-Keys_v2.lua", kBody);
  auto d = MustRead(dir);
  REQUIRE(d.files.size() == 1);
  CHECK(d.files[0].slug == "Move-Keys_v2");
  CHECK(d.warnings.empty());
}

TEST_CASE("migrations are ordered by their number, not by name", "[directory]") {
  TempDir dir;
  dir.Write("0010_ten.lua", kBody);
  dir.Write("0002_two.lua", kBody);
  dir.Write("9_nine.lua", kBody);
  dir.Write("0001_one.lua", kBody);
  dir.Write("11_eleven.lua", kBody);
  auto d = MustRead(dir);
  CHECK(Versions(d) == std::vector<long long>{1, 2, 9, 10, 11});
  CHECK(d.files[2].filename == "9_nine.lua");
  CHECK(d.files[3].filename == "0010_ten.lua");
}

TEST_CASE("10 comes after 9 when the widths differ", "[directory]") {
  TempDir dir;
  dir.Write("10_b.lua", kBody);  // sorts before "9_a.lua" by name
  dir.Write("9_a.lua", kBody);
  auto d = MustRead(dir);
  REQUIRE(d.files.size() == 2);
  CHECK(d.files[0].filename == "9_a.lua");
  CHECK(d.files[1].filename == "10_b.lua");
}

TEST_CASE("a duplicate version is a usage error naming both files", "[directory]") {
  TempDir dir;
  dir.Write("0002_first.lua", kBody);
  dir.Write("2_second.lua", kBody);
  dir.Write("0001_fine.lua", kBody);
  auto r = ReadMigrationDir(dir.str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().exit_code == 2);
  CHECK_THAT(r.error().message, Catch::Contains("duplicate migration version 2"));
  CHECK_THAT(r.error().message, Catch::Contains(dir.Join("0002_first.lua")));
  CHECK_THAT(r.error().message, Catch::Contains(dir.Join("2_second.lua")));
}

TEST_CASE("files not named NNNN_slug.lua are ignored with a warning", "[directory]") {
  TempDir dir;
  dir.Write("0001_ok.lua", kBody);
  dir.Write("README.md", "notes");
  dir.Write("0002_bad name.lua", kBody);
  dir.Write("0003_old.lua.bak", kBody);
  dir.Write("_0004.lua", kBody);
  dir.Write("0005.lua", kBody);
  auto d = MustRead(dir);
  CHECK(Versions(d) == std::vector<long long>{1});
  REQUIRE(d.warnings.size() == 5);
  for (const char* name : {"README.md", "0002_bad name.lua", "0003_old.lua.bak", "_0004.lua", "0005.lua"}) {
    INFO(name);
    bool named = false;
    for (const auto& w : d.warnings) named |= w.find(dir.Join(name)) != std::string::npos;
    CHECK(named);
  }
  CHECK_THAT(d.warnings[0], Catch::Contains("not named NNNN_slug.lua"));
}

TEST_CASE("hidden files and helper subdirectories are ignored silently", "[directory]") {
  TempDir dir;
  dir.Write("0001_ok.lua", kBody);
  dir.Write(".0002_hidden.lua", kBody);
  dir.Write(".DS_Store", "x");
  fs::create_directories(dir.Join("lib"));
  auto d = MustRead(dir);
  CHECK(Versions(d) == std::vector<long long>{1});
  CHECK(d.warnings.empty());
}

TEST_CASE("entries named like migrations that are not files are skipped with a warning, never opened",
          "[directory]") {
  TempDir dir;
  dir.Write("0001_ok.lua", kBody);
  fs::create_directories(dir.Join("0002_subdir.lua"));
  fs::create_symlink("nowhere.lua", dir.Join("0003_dangling.lua"));
  fs::create_symlink("0004_loop.lua", dir.Join("0005_loop.lua"));
  fs::create_symlink("0005_loop.lua", dir.Join("0004_loop.lua"));
  REQUIRE(mkfifo(dir.Join("0006_fifo.lua").c_str(), 0600) == 0);  // opening it would block
  fs::create_symlink("0001_ok.lua", dir.Join("0007_link.lua"));   // a link to a file is a file
  auto d = MustRead(dir);
  CHECK(Versions(d) == std::vector<long long>{1, 7});
  std::string all;
  for (const auto& w : d.warnings) all += w + "\n";
  INFO(all);
  CHECK(d.warnings.size() == 5);
  CHECK_THAT(all, Catch::Contains(dir.Join("0002_subdir.lua") + ": a directory"));
  CHECK_THAT(all, Catch::Contains(dir.Join("0003_dangling.lua") + ": a dangling symlink"));
  CHECK_THAT(all, Catch::Contains(dir.Join("0004_loop.lua") + ": a symlink loop"));
  CHECK_THAT(all, Catch::Contains(dir.Join("0005_loop.lua") + ": a symlink loop"));
  CHECK_THAT(all, Catch::Contains(dir.Join("0006_fifo.lua") + ": a FIFO"));
}

TEST_CASE("a missing directory is a usage error naming it", "[directory]") {
  TempDir dir;
  const std::string missing = dir.Join("nope");
  auto r = ReadMigrationDir(missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().exit_code == 2);
  CHECK_THAT(r.error().message, Catch::Contains("'" + missing + "' does not exist"));
}

TEST_CASE("sha256 of known text", "[directory]") {
  // Expected values from `printf ... | sha256sum`.
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("hello\n") == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  CHECK(Sha256Hex("return {}\n") == "1232d8379de77e154ca533689af2e42629dd7574bda5a0a390799849f07607c3");
}

TEST_CASE("a changed file has a different sha256", "[directory]") {
  TempDir dir;
  dir.Write("0001_a.lua", "return {}\n");
  std::string before = MustRead(dir).files.at(0).sha256;
  CHECK(before == "1232d8379de77e154ca533689af2e42629dd7574bda5a0a390799849f07607c3");
  dir.Write("0001_a.lua", "return {} \n");
  CHECK(MustRead(dir).files.at(0).sha256 != before);
}

TEST_CASE("new: the first migration is 0001_slug.lua from the template", "[directory]") {
  TempDir dir;
  auto r = WriteNewMigration(dir.str(), "iso_dates");
  REQUIRE(r.ok());
  CHECK(r.value() == dir.Join("0001_iso_dates.lua"));
  CHECK(dir.Read("0001_iso_dates.lua") == MigrationTemplate("iso_dates"));
}

TEST_CASE("new: creates a missing directory", "[directory]") {
  TempDir dir;
  const std::string sub = dir.Join("migrations");
  auto r = WriteNewMigration(sub, "first");
  REQUIRE(r.ok());
  CHECK(r.value() == sub + "/0001_first.lua");
  CHECK(fs::is_regular_file(r.value()));
}

TEST_CASE("new: numbers follow the highest existing version", "[directory]") {
  TempDir dir;
  dir.Write("0002_b.lua", kBody);
  dir.Write("0007_g.lua", kBody);
  auto r = WriteNewMigration(dir.str(), "next-one");
  REQUIRE(r.ok());
  CHECK(r.value() == dir.Join("0008_next-one.lua"));
  auto d = MustRead(dir);
  CHECK(Versions(d) == std::vector<long long>{2, 7, 8});
  auto again = WriteNewMigration(dir.str(), "after");
  REQUIRE(again.ok());
  CHECK(again.value() == dir.Join("0009_after.lua"));
}

TEST_CASE("new: keeps the width of wider existing numbers", "[directory]") {
  TempDir dir;
  dir.Write("000041_x.lua", kBody);
  auto r = WriteNewMigration(dir.str(), "y");
  REQUIRE(r.ok());
  CHECK(r.value() == dir.Join("000042_y.lua"));
}

TEST_CASE("new: an invalid slug is a usage error and writes nothing", "[directory]") {
  TempDir dir;
  for (const char* slug : {"", "two words", "../escape", "a/b", "dots.lua", "semi;colon"}) {
    INFO(slug);
    auto r = WriteNewMigration(dir.str(), slug);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().exit_code == 2);
    CHECK_THAT(r.error().message, Catch::Contains("invalid slug"));
  }
  CHECK(fs::is_empty(dir.str()));
}

TEST_CASE("the template's placeholder description is refused until edited", "[directory]") {
  const std::string text = MigrationTemplate("my_slug");
  auto m = MigrationScript::Load("migrations/0001_my_slug.lua", text, keyshift::SandboxLimits{});
  REQUIRE_FALSE(m.ok());
  CHECK_THAT(m.error().message, Catch::Contains("migrations/0001_my_slug.lua:") &&
                                    Catch::Contains("placeholder") && Catch::Contains("description"));
}

TEST_CASE("new takes a numbered name as its slug, not as part of it", "[directory]") {
  TempDir dir;
  for (const char* typed : {"0001_first", "0042_second", "third"}) {
    auto r = WriteNewMigration(dir.str(), typed);
    REQUIRE(r.ok());
  }
  CHECK(fs::exists(dir.Join("0001_first.lua")));
  CHECK(fs::exists(dir.Join("0002_second.lua")));
  CHECK(fs::exists(dir.Join("0003_third.lua")));
  CHECK(std::distance(fs::directory_iterator(dir.str()), fs::directory_iterator()) == 3);
}

// Once its description is written, the template is a working migration.
TEST_CASE("the template loads as a migration", "[directory]") {
  std::string text = MigrationTemplate("my_slug");
  CHECK_THAT(text, Catch::StartsWith("-- keyshift migration: my_slug\n"));
  text.replace(text.find(keyshift::kPlaceholderDescription), std::string(keyshift::kPlaceholderDescription).size(),
               "rename a field");
  auto m = MigrationScript::Load("migrations/0001_my_slug.lua", text, keyshift::SandboxLimits{});
  if (!m.ok()) FAIL("template does not load: " << m.error().message);
  const auto& info = (*m)->info();
  CHECK_FALSE(info.description.empty());
  CHECK(info.mode == keyshift::RunMode::kHost);
  CHECK(info.has_transform);
  CHECK(info.has_verify);
  // Its transform leaves keys alone and its verify passes them.
  keyshift::Value v;
  v.type = keyshift::KeyType::kHash;
  v.pairs = {{"f", "v"}};
  auto out = (*m)->Transform("k", v);
  REQUIRE(out.ok());
  CHECK(out->action == keyshift::KeyAction::kKeep);
  auto verdict = (*m)->Verify("k", v);
  REQUIRE(verdict.ok());
  CHECK(verdict->first);
}
