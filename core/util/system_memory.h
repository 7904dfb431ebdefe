#pragma once

// How much memory this process may still take: the smallest of what the kernel reports as
// available (/proc/meminfo MemAvailable), the room left under a cgroup v2 limit (a container),
// and LATENT_MEMORY_LIMIT_MB when set (to run as if on a smaller machine, or to keep room
// for other programs). Linux; elsewhere the figures are unknown. Every check that refuses
// work for lack of memory asks here, so all of them obey the same limits.

#include <cstdint>
#include <string>

namespace latent::util {

struct AvailableMemory {
  int64_t bytes = -1;   // -1 when nothing could be read
  std::string source;   // what limited it, for messages: "LATENT_MEMORY_LIMIT_MB", ...
};

AvailableMemory available_memory();

}  // namespace latent::util
