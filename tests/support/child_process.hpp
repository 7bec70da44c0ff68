// Stopping a helper process a test support class started (a fake, the SMTP sink): SIGTERM, a
// few seconds to exit, then SIGKILL; always reaped.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

namespace switchboard::testing {

inline void stop_child(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds{3}) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

}  // namespace switchboard::testing
