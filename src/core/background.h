// Helpers for work that runs beside request handling (the labelling tool's "pre-label all" and Train jobs).
// Thread-safety: both functions are reentrant.
#pragma once

#include <string>

namespace visearch {

// Current UTC time to the second, "2024-05-01T12:00:00Z".
std::string utc_now();

// Lowers the calling thread's CPU priority (nice +10), so interactive requests keep their latency.
void lower_this_thread_priority();

}  // namespace visearch
