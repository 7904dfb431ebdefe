#pragma once

// How much memory this process may still take: the smallest of what the kernel reports as
// available (/proc/meminfo MemAvailable), the room left under a cgroup v2 limit (a container),
// and LATENT_MEMORY_LIMIT_MB when set (to run as if on a smaller machine, or to keep room
// for other programs). Linux; elsewhere the figures are unknown.

#include <cstdint>
#include <string>

namespace latent::util {

struct AvailableMemory {
  int64_t bytes = -1;   // -1 when nothing could be read
  std::string source;   // what limited it, for messages: "MemAvailable", "cgroup memory.max", ...
};

AvailableMemory available_memory();

// "1.5 GiB", "640 MiB": sizes for people.
std::string format_bytes(int64_t bytes);

}  // namespace latent::util
