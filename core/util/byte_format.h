#pragma once

// Sizes for people, in binary units: one formatter for every message that names an amount of
// memory or a file size, so the same amount always reads the same way.

#include <cstdint>
#include <string>

namespace latent::util {

// "1.5 GiB" from 1 GiB on (one decimal), "640 MiB" from 1 MiB on, "12 KiB" from 1 KiB on,
// "512 bytes" below that.
std::string format_bytes(int64_t bytes);

}  // namespace latent::util
