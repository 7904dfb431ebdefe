#include "core/models/skip_init.h"

#include <torch/library.h>
#include <torch/torch.h>

namespace latent::models {
namespace {

// A dispatch key that only this guard puts into the thread's key set, so these kernels
// are never seen elsewhere: LibTorch's mode key meant for exactly this kind of local
// interception (see its backend_fallback_test).
constexpr auto kSkipKey = c10::DispatchKey::TESTING_ONLY_GenericMode;

at::Tensor& keep_uniform(at::Tensor& self, double, double, c10::optional<at::Generator>) { return self; }
at::Tensor& keep_normal(at::Tensor& self, double, double, c10::optional<at::Generator>) { return self; }

}  // namespace

TORCH_LIBRARY_IMPL(_, TESTING_ONLY_GenericMode, m) {
  m.fallback(torch::CppFunction::makeFallthrough());
}

TORCH_LIBRARY_IMPL(aten, TESTING_ONLY_GenericMode, m) {
  m.impl("uniform_", TORCH_FN(keep_uniform));
  m.impl("normal_", TORCH_FN(keep_normal));
}

SkipRandomInit::SkipRandomInit() : include_(kSkipKey) {}

}  // namespace latent::models
