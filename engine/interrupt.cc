// Signal handlers that only touch lock-free atomics.
#include "engine/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

namespace keyshift {

namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_scopes{0};

void OnSignal(int sig) {
  // A second Ctrl-C, or any signal while nothing is held: stop now. The lease
  // of a lock still held then expires; the journal keeps resumes exactly-once.
  if (g_scopes.load() == 0 || (sig == SIGINT && g_signal.load() != 0)) _exit(128 + sig);
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking reads resume; the loops poll the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int InterruptSignal() { return g_signal.load(); }

int InterruptExitCode() {
  int sig = g_signal.load();
  return sig ? 128 + sig : 0;
}

void NoteInterrupt(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
}

InterruptScope::InterruptScope() { ++g_scopes; }
InterruptScope::~InterruptScope() { --g_scopes; }

}  // namespace keyshift
