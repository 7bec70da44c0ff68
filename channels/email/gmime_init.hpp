// GMime's one-time initialisation. g_mime_init() must run once per process before any other
// GMime call, and is not safe to race: every user of GMime calls ensure_gmime() first.
#pragma once

namespace switchboard::channels::email {

// Runs g_mime_init() exactly once, on first use, whichever thread gets there first. Never undone
// (g_mime_shutdown() at exit would race threads still parsing).
void ensure_gmime();

}  // namespace switchboard::channels::email
