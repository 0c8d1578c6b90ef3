// fork/exec, reaping and log tails shared by RedisServer and RedisCluster.
#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace keyshift::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Child side of fork: only async-signal-safe calls until exec.
[[noreturn]] void Exec(pid_t parent, int output_fd, const std::vector<char*>& argv) {
  // Dies with the test process even if that one crashes or is SIGKILLed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, STDIN_FILENO);
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  close_range(3, ~0U, 0);  // no client sockets of the test leak into the child
  execv(argv[0], argv.data());
  _exit(127);
}

}  // namespace

std::string FindExecutable(const std::string& name, const std::string& hint) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  FAIL(name << " not found in PATH (" << hint << ")");
  return {};
}

pid_t StartChild(const std::vector<std::string>& args, const std::string& output_path) {
  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int output_fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(output_fd >= 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) Exec(parent, output_fd, argv);
  close(output_fd);
  REQUIRE(pid > 0);
  return pid;
}

bool WaitForExit(pid_t pid, std::chrono::milliseconds limit, int* status) {
  auto deadline = Clock::now() + limit;
  while (true) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "on signal " + std::to_string(WTERMSIG(status));
  return "(status " + std::to_string(status) + ")";
}

std::string Tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no " + path + ")\n";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return "--- " + path + " ---\n" + text;
}

}  // namespace keyshift::testing
