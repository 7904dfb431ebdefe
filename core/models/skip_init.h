#pragma once

// Building a network without its random initialisation, for networks whose every
// parameter is overwritten by loaded weights right after: LibTorch's modules fill their
// weights from a serial random generator as they are built, about 3 s for SD 1.5's UNet.

#include <c10/core/impl/LocalDispatchKeySet.h>

namespace latent::models {

// While alive, on this thread, uniform_ and normal_ leave tensors as they are (other
// operations, ones_ and zeros_ included, run as usual). Parameters built meanwhile hold
// whatever memory they were given until weights are copied in.
class SkipRandomInit {
 public:
  SkipRandomInit();
  SkipRandomInit(const SkipRandomInit&) = delete;
  SkipRandomInit& operator=(const SkipRandomInit&) = delete;

 private:
  c10::impl::IncludeDispatchKeyGuard include_;
};

}  // namespace latent::models
