#pragma once

// The few-step golden set (tests/data/fast, copied from the shared test data); the sampler
// of each diffusers scheduler class is sampler_of_class in golden_set.h.

#include "tests/support/golden_set.h"

namespace latent::test {

inline const GoldenSet& fast_golden() {
  static const GoldenSet set("fast");
  return set;
}

}  // namespace latent::test
