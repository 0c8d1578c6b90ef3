// Child processes the test harness starts (redis-server, redis-cli): every
// path and argument is prepared before fork, because the child may only make
// async-signal-safe calls until exec, and each child dies with the test
// process even if that one is SIGKILLed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace keyshift::testing {

// The absolute path of `name` in PATH; FAILs the test (naming `hint`) if none.
std::string FindExecutable(const std::string& name, const std::string& hint);

// Starts argv (argv[0] an absolute path) with stdin from /dev/null and stdout
// and stderr written to `output_path` (truncated), no other fd inherited.
pid_t StartChild(const std::vector<std::string>& argv, const std::string& output_path);

// Reaps pid if it has exited within `limit`; true when reaped (*status set).
bool WaitForExit(pid_t pid, std::chrono::milliseconds limit, int* status);

// SIGKILL now and reap.
void KillAndReap(pid_t pid);

// "with code N", "on signal N": how a reaped child ended.
std::string DescribeExit(int status);

// The end of a file (its last max_bytes), headed by its path, for failures.
std::string Tail(const std::string& path, size_t max_bytes = 3000);

}  // namespace keyshift::testing
