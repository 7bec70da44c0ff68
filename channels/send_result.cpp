#include "channels/send_result.hpp"

namespace switchboard::channels {

std::string_view to_string(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::sent:
      return "sent";
    case SendOutcome::retry_after:
      return "retry_after";
    case SendOutcome::blocked_by_window:
      return "blocked_by_window";
    case SendOutcome::opted_out:
      return "opted_out";
    case SendOutcome::credentials_rejected:
      return "credentials_rejected";
    case SendOutcome::permanent:
      return "permanent";
  }
  return "permanent";
}

}  // namespace switchboard::channels
