// g_mime_init() behind std::call_once.
#include "channels/email/gmime_init.hpp"

#include <gmime/gmime.h>

#include <mutex>

namespace switchboard::channels::email {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace switchboard::channels::email
