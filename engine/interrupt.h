// Ctrl-C, SIGTERM and a closed output pipe (SPEC 5 guarantee 9). Outside a
// writing phase a signal ends the process at once: nothing is held. Inside one
// (an InterruptScope: lock taken or about to be), the signal is only noted and
// the run loops stop at their next batch boundary, save the checkpoint and
// release the lock; a second Ctrl-C still ends the process at once.
#pragma once

namespace keyshift {

// Installs the SIGINT/SIGTERM handlers and ignores SIGPIPE (a closed pipe is
// seen as EPIPE on the write instead). Call once, first thing.
void InstallInterruptHandlers();

// The signal that asked the run to stop (SIGINT, SIGTERM, or SIGPIPE for a
// closed stdout/stderr), or 0.
int InterruptSignal();
inline bool Interrupted() { return InterruptSignal() != 0; }
// The exit code for an interrupted run: 128 + the signal (130, 143, 141).
int InterruptExitCode();
// Notes a stop request as if `signal` had arrived (used for EPIPE).
void NoteInterrupt(int signal);

// While one exists, SIGINT/SIGTERM are noted instead of ending the process.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

}  // namespace keyshift
