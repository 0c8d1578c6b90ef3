#include "cli/emit.h"

#include <atomic>
#include <cerrno>
#include <csignal>

#include "engine/interrupt.h"

namespace keyshift {
namespace {

std::atomic<bool> g_closed[2];  // stdout, stderr: a reader went away

}  // namespace

void Emit(std::FILE* out, std::string_view text) {
  std::atomic<bool>& closed = g_closed[out == stderr ? 1 : 0];
  if (closed.load()) return;
  bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size() && std::fflush(out) == 0;
  if (!ok && errno == EPIPE) {
    closed = true;
    std::clearerr(out);
    NoteInterrupt(SIGPIPE);
  }
}

}  // namespace keyshift
