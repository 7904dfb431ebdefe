#include "core/schedulers/random.h"

#include <ATen/CPUGeneratorImpl.h>

namespace latent::schedulers {

at::Generator make_cpu_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor randn_cpu(at::IntArrayRef shape, at::Generator& generator) {
  return torch::randn(shape, generator, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor randn_like_from(const torch::Tensor& like, at::Generator& generator) {
  return randn_cpu(like.sizes(), generator).to(like.device(), like.scalar_type());
}

}  // namespace latent::schedulers
