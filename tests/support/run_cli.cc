// Owns running the keyshift binary from tests: fork/exec with three pipes,
// a poll loop that feeds stdin while draining stdout and stderr (so a chatty
// child can never deadlock against a full pipe), and a hard timeout.
#include "tests/support/run_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#ifndef KEYSHIFT_BINARY
#error "KEYSHIFT_BINARY must be defined (path of the keyshift executable)"
#endif
#ifndef KEYSHIFT_SOURCE_DIR
#error "KEYSHIFT_SOURCE_DIR must be defined (repository root)"
#endif

extern char** environ;

namespace keyshift::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Prepared before fork: the child may only make async-signal-safe calls.
struct ChildSpec {
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
};

ChildSpec MakeSpec(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  ChildSpec spec;
  spec.argv_storage.push_back(KEYSHIFT_BINARY);
  spec.argv_storage.insert(spec.argv_storage.end(), args.begin(), args.end());
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (name.rfind("KEYSHIFT_", 0) == 0 || env.count(name) != 0) continue;
    spec.env_storage.push_back(entry);
  }
  for (const auto& [name, value] : env) spec.env_storage.push_back(name + "=" + value);
  for (std::string& s : spec.argv_storage) spec.argv.push_back(s.data());
  for (std::string& s : spec.env_storage) spec.envp.push_back(s.data());
  spec.argv.push_back(nullptr);
  spec.envp.push_back(nullptr);
  return spec;
}

// pipes[i] = {read end, write end}; index 0 is the child's stdin.
[[noreturn]] void ExecChild(pid_t parent, int pipes[3][2], const ChildSpec& spec) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  setpgid(0, 0);  // a timeout kills the whole group, helpers included
  dup2(pipes[0][0], STDIN_FILENO);
  dup2(pipes[1][1], STDOUT_FILENO);
  dup2(pipes[2][1], STDERR_FILENO);
  execve(spec.argv[0], spec.argv.data(), spec.envp.data());
  const char msg[] = "run_cli: execve of KEYSHIFT_BINARY failed\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
  _exit(127);
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Reads what is available; closes the fd at EOF.
void Drain(int* fd, std::string* sink) {
  char buffer[65536];
  ssize_t n = read(*fd, buffer, sizeof(buffer));
  if (n > 0) {
    sink->append(buffer, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    CloseFd(fd);
  }
}

// Writes what the pipe takes; closes the fd once everything is written or
// the child stopped reading (EPIPE: SIGPIPE is ignored for this).
void Feed(int* fd, const std::string& text, size_t* written) {
  if (*written < text.size()) {
    ssize_t n = write(*fd, text.data() + *written, text.size() - *written);
    if (n > 0) *written += static_cast<size_t>(n);
    if (n < 0 && errno != EAGAIN && errno != EINTR) *written = text.size();
  }
  if (*written >= text.size()) CloseFd(fd);
}

struct Io {
  int in, out, err;
};

// Pumps until stdout and stderr reach EOF; false on timeout.
bool Pump(Io io, const std::string& stdin_text, CliResult* result, Clock::time_point deadline) {
  size_t written = 0;
  if (stdin_text.empty()) CloseFd(&io.in);
  while (io.out >= 0 || io.err >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      CloseFd(&io.in), CloseFd(&io.out), CloseFd(&io.err);
      return false;
    }
    pollfd fds[3] = {{io.out, POLLIN, 0}, {io.err, POLLIN, 0}, {io.in, POLLOUT, 0}};
    if (poll(fds, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) Drain(&io.out, &result->out);
    if (fds[1].revents != 0) Drain(&io.err, &result->err);
    if (fds[2].revents != 0) Feed(&io.in, stdin_text, &written);
  }
  CloseFd(&io.in), CloseFd(&io.out), CloseFd(&io.err);
  return true;
}

// Reaps the child, killing it if it is still alive at the deadline (it may
// have closed its stdout and stderr and kept running); *in_time says which.
int Reap(pid_t pid, Clock::time_point deadline, bool* in_time) {
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      *in_time = false;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    usleep(2000);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string Joined(const std::vector<std::string>& args) {
  std::string out = "keyshift";
  for (const std::string& a : args) out += " " + a;
  return out;
}

}  // namespace

CliResult RunKeyshift(const std::vector<std::string>& args, const std::string& stdin_text,
                      const std::map<std::string, std::string>& env, int timeout_seconds) {
  signal(SIGPIPE, SIG_IGN);  // a child that exits without reading stdin must not kill the test
  ChildSpec spec = MakeSpec(args, env);
  int pipes[3][2];
  for (auto& p : pipes) REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) ExecChild(parent, pipes, spec);
  if (pid > 0) setpgid(pid, pid);  // also here, so the group exists before any kill
  close(pipes[0][0]), close(pipes[1][1]), close(pipes[2][1]);
  REQUIRE(pid > 0);
  Io io{pipes[0][1], pipes[1][0], pipes[2][0]};
  for (int fd : {io.in, io.out, io.err}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  CliResult result;
  auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  bool finished = Pump(io, stdin_text, &result, deadline);
  result.exit_code = Reap(pid, finished ? deadline : Clock::now(), &finished);
  if (!finished) {
    FAIL(Joined(args) << " did not finish within " << timeout_seconds
                      << " s (killed); stderr so far:\n" << result.err);
  }
  return result;
}

std::string RunKeyshift(const std::vector<std::string>& args, int* exit_code,
                        const std::string& stdin_text, std::map<std::string, std::string> env) {
  CliResult result = RunKeyshift(args, stdin_text, env);
  if (exit_code != nullptr) *exit_code = result.exit_code;
  return result.all();
}

std::string SourcePath(const std::string& relative) {
  return std::string(KEYSHIFT_SOURCE_DIR) + "/" + relative;
}

}  // namespace keyshift::testing
