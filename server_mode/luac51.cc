#include "server_mode/luac51.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <vector>

#include "bindings/boundary.h"
#include "server_mode/lua_chars.h"

extern char** environ;

namespace keyshift::portability {

namespace {

// Lines the wrapper puts before the file (see Wrap).
constexpr int kWrapperLines = 3;

std::optional<std::string> FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest(path);
  for (;;) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate.push_back('/');
    candidate.append(program);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

// "luac5.1: /tmp/ks-portability-abc123.lua:3: unexpected symbol near '/'"
// -> {3, "unexpected symbol near '/'"}. The file name may be shortened ("...").
std::optional<CompileError> ParseLuacError(const std::string& output) {
  std::string first = output.substr(0, output.find('\n'));
  if (!first.empty() && first.back() == '\r') first.pop_back();
  for (size_t colon = first.find(':'); colon != std::string::npos; colon = first.find(':', colon + 1)) {
    size_t j = colon + 1, digits_start = j;
    while (j < first.size() && IsDigit(static_cast<unsigned char>(first[j]))) ++j;
    if (j == digits_start || j - digits_start > 9 || first.compare(j, 2, ": ") != 0) continue;
    std::string message = first.substr(j + 2);
    if (message.size() > 200) message = message.substr(0, 200) + "...";
    return CompileError{std::atoi(first.substr(digits_start, j - digits_start).c_str()), message};
  }
  return std::nullopt;
}

// `source` as server mode runs it: inside a function, after the stdlib
// locals (see server_mode/server_script.cc).
std::string Wrap(const std::string& source) {
  std::string shadows;  // the locals server mode declares there (Lua 5.1 counts them as upvalues)
  for (const char* name : kWrappedGlobals) shadows += std::string(shadows.empty() ? "local " : ", ") + name;
  std::string wrapped = "local json, time, ks\nlocal mig = (function()\n" + shadows + "\n" + source;
  if (!source.empty() && !IsNewline(static_cast<unsigned char>(source.back()))) wrapped += "\n";
  wrapped += "end)()\nreturn mig\n";
  return wrapped;
}

// A new temporary "*.lua" file holding `text`; its path, or nothing.
std::optional<std::string> WriteTempFile(const std::string& text) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string templ = (dir / "ks-portability-XXXXXX.lua").string();
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  int fd = ::mkstemps(name.data(), 4);
  if (fd < 0) return std::nullopt;
  std::string file(name.data());
  bool written = true;
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      written = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (written) return file;
  ::unlink(file.c_str());
  return std::nullopt;
}

// Reads `fd` to its end, keeping the first 64 KiB.
std::string ReadAll(int fd) {
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
  }
  return output;
}

// Runs `luac -p file`; its stderr when it fails, nothing when it succeeds or
// cannot be run.
std::optional<std::string> RunLuac(const std::string& luac, std::string file) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  std::string arg0 = "luac5.1", arg1 = "-p";
  char* argv[] = {arg0.data(), arg1.data(), file.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, luac.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  std::optional<std::string> result;
  if (rc == 0) {
    std::string output = ReadAll(pipefd[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) result = std::move(output);
  }
  ::close(pipefd[0]);
  return result;
}

// Line breaks as Lua counts them: \n, \r, \r\n, \n\r.
int CountLines(const std::string& source) {
  int lines = 1;
  for (size_t i = 0; i < source.size(); ++i) {
    if (!IsNewline(static_cast<unsigned char>(source[i]))) continue;
    if (i + 1 < source.size() && IsNewline(static_cast<unsigned char>(source[i + 1])) && source[i + 1] != source[i])
      ++i;
    ++lines;
  }
  return lines;
}

// Back to the file's own lines; the wrapper's last lines count as the file's
// last, in the error's line and in the lines its message names.
void MapToFileLines(const std::string& source, CompileError* err) {
  int file_lines = CountLines(source);
  auto to_file = [&](int line) { return std::clamp(line - kWrapperLines, 1, file_lines); };
  err->line = to_file(err->line);
  // "... (to close 'function' at line 5) ...", "function at line 5 has more than 60 upvalues"
  std::string& msg = err->message;
  for (size_t at = msg.find("at line "); at != std::string::npos; at = msg.find("at line ", at + 1)) {
    size_t start = at + 8, end = start;
    while (end < msg.size() && end - start < 9 && IsDigit(static_cast<unsigned char>(msg[end]))) ++end;
    if (end == start) continue;
    std::string mapped = std::to_string(to_file(std::atoi(msg.substr(start, end - start).c_str())));
    msg.replace(start, end - start, mapped);
  }
}

}  // namespace

std::optional<CompileError> CompileWithLua51(const std::string& source) {
  auto luac = FindOnPath("luac5.1");
  if (!luac) return std::nullopt;
  auto file = WriteTempFile(Wrap(source));
  if (!file) return std::nullopt;
  std::optional<CompileError> result;
  if (auto output = RunLuac(*luac, *file)) result = ParseLuacError(*output);
  if (result) MapToFileLines(source, &*result);
  ::unlink(file->c_str());
  return result;
}

}  // namespace keyshift::portability
