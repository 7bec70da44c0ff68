#include "routing/core/message.hpp"

namespace switchboard {

namespace {
constexpr std::string_view kChannelNames[] = {"api", "webchat", "email", "messenger", "whatsapp", "sms"};
constexpr std::string_view kIdentityNames[] = {"phone",          "email", "messenger_psid", "whatsapp_user",
                                               "webchat_visitor", "api"};
}  // namespace

std::string_view to_string(Channel c) { return kChannelNames[static_cast<int>(c)]; }

std::optional<Channel> channel_from_string(std::string_view s) {
  for (int i = 0; i < static_cast<int>(std::size(kChannelNames)); ++i)
    if (kChannelNames[i] == s) return static_cast<Channel>(i);
  return std::nullopt;
}

std::string_view to_string(IdentityKind k) { return kIdentityNames[static_cast<int>(k)]; }

std::optional<IdentityKind> identity_kind_from_string(std::string_view s) {
  for (int i = 0; i < static_cast<int>(std::size(kIdentityNames)); ++i)
    if (kIdentityNames[i] == s) return static_cast<IdentityKind>(i);
  return std::nullopt;
}

}  // namespace switchboard
