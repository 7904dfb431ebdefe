#pragma once

// Upscaler networks with random weights, written as .safetensors in BasicSR's key names, for
// measuring speed and memory without a download (make-random-model --config rrdbnet-x4).

#include <cstdint>
#include <string>
#include <vector>

namespace latent::pipeline {

// "rrdbnet-x4" (ESRGAN / Real-ESRGAN x4plus: 23 blocks, 64 features, growth 32),
// "rrdbnet-x2" (the same with the ×2 pixel unshuffle) and "srvgg-x4" (realesr-general-x4v3:
// 32 convolutions, 64 features).
std::vector<std::string> random_upscaler_configs();
bool is_random_upscaler_config(const std::string& config);

// Writes the file (dtype "fp32", "fp16" or "bf16"); throws latent::Error for an unknown
// config or dtype, or a file that cannot be written.
void write_random_upscaler(const std::string& config, const std::string& path, const std::string& dtype,
                           uint64_t seed);

}  // namespace latent::pipeline
