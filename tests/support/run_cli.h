// Test harness for running the keyshift binary (KEYSHIFT_BINARY) as a child
// process with captured stdout/stderr, a controlled environment and a timeout.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace keyshift::testing {

struct CliResult {
  int exit_code = -1;  // the exit status; 128 + N when killed by signal N
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
  std::string all() const { return out + err; }
};

// Runs `keyshift args...`, feeding stdin_text on stdin. The child inherits the
// test's environment minus every KEYSHIFT_* variable (so a developer's
// KEYSHIFT_URL cannot point a test at a real server), plus `env`. FAILs the
// test if it runs longer than timeout_seconds (the child is killed).
CliResult RunKeyshift(const std::vector<std::string>& args, const std::string& stdin_text = "",
                      const std::map<std::string, std::string>& env = {},
                      int timeout_seconds = 120);

// The same run, shaped for quick checks: returns stdout followed by stderr and
// stores the exit status in *exit_code.
std::string RunKeyshift(const std::vector<std::string>& args, int* exit_code,
                        const std::string& stdin_text = "",
                        std::map<std::string, std::string> env = {});

// KEYSHIFT_SOURCE_DIR + "/" + relative, for fixtures in the repository.
std::string SourcePath(const std::string& relative);

}  // namespace keyshift::testing
