#include "core/key_change.h"

#include <algorithm>
#include <chrono>

namespace keyshift {

long long PttlFromExpireAt(long long expire_at) {
  using namespace std::chrono;
  long long now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return expire_at < 0 ? -1 : std::max(0LL, expire_at - now);
}

}  // namespace keyshift
