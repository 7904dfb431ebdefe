#include "core/util/byte_format.h"

#include <cstdio>

namespace latent::util {

std::string format_bytes(int64_t bytes) {
  constexpr double kKiB = 1024.0;
  constexpr double kMiB = kKiB * 1024;
  constexpr double kGiB = kMiB * 1024;
  const double b = static_cast<double>(bytes);
  char text[32];
  if (b >= kGiB) std::snprintf(text, sizeof text, "%.1f GiB", b / kGiB);
  else if (b >= kMiB) std::snprintf(text, sizeof text, "%.0f MiB", b / kMiB);
  else if (b >= kKiB) std::snprintf(text, sizeof text, "%.0f KiB", b / kKiB);
  else std::snprintf(text, sizeof text, "%lld bytes", static_cast<long long>(bytes));
  return text;
}

}  // namespace latent::util
