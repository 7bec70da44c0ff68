// Plain text to an HTML fragment, for the HTML part of e-mail replies: everything escaped (the
// template's text and the values put into it, which may come from outsiders), line breaks kept.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::routing {

// "Dzień dobry <Jan> & co\nDo jutra" -> "Dzień dobry &lt;Jan&gt; &amp; co<br>\nDo jutra"
std::string plain_to_html(std::string_view text);

}  // namespace switchboard::routing
