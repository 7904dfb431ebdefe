#include "core/util/system_memory.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace latent::util {
namespace {

// "MemAvailable:   12345678 kB" → bytes; -1 when absent.
int64_t meminfo_field(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  const std::string prefix = key + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atoll(line.c_str() + prefix.size()) * 1024;
  }
  return -1;
}

// A number in a cgroup file; -1 for "max" (no limit) or when unreadable.
int64_t cgroup_value(const char* name) {
  std::ifstream in(std::string("/sys/fs/cgroup/") + name);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  return std::atoll(text.c_str());
}

void take_smaller(AvailableMemory& out, int64_t bytes, const char* source) {
  if (bytes < 0) return;
  if (out.bytes < 0 || bytes < out.bytes) out = {bytes, source};
}

}  // namespace

AvailableMemory available_memory() {
  AvailableMemory out;
  take_smaller(out, meminfo_field("MemAvailable"), "MemAvailable in /proc/meminfo");
  const int64_t limit = cgroup_value("memory.max");
  const int64_t used = cgroup_value("memory.current");
  if (limit >= 0 && used >= 0) take_smaller(out, limit > used ? limit - used : 0, "the container's memory limit");
  if (const char* env = std::getenv("LATENT_MEMORY_LIMIT_MB")) {
    const int64_t mib = std::atoll(env);
    if (mib > 0) take_smaller(out, mib * 1024 * 1024, "LATENT_MEMORY_LIMIT_MB");
  }
  return out;
}

}  // namespace latent::util
