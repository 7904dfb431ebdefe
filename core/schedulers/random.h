#pragma once

// Seeded noise as torch's CPU generator draws it, so a seed means what it means in
// PyTorch (torch.Generator("cpu").manual_seed(seed); torch.randn(shape, generator=g))
// on every compute device: noise is drawn on the CPU in float32 and then moved.

#include <torch/torch.h>

#include <cstdint>

namespace latent::schedulers {

// A CPU generator in the state torch.Generator("cpu").manual_seed(seed) leaves it in.
at::Generator make_cpu_generator(uint64_t seed);

// torch.randn(shape, generator=g, dtype=float32) on the CPU.
torch::Tensor randn_cpu(at::IntArrayRef shape, at::Generator& generator);

// randn_cpu with `like`'s shape, then moved to `like`'s device and dtype.
torch::Tensor randn_like_from(const torch::Tensor& like, at::Generator& generator);

}  // namespace latent::schedulers
