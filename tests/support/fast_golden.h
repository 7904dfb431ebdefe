#pragma once

// The few-step golden set (tests/data/fast, copied from the shared test data) and the
// sampler each of its diffusers scheduler classes is here.

#include <stdexcept>
#include <string>

#include "tests/support/golden_set.h"

namespace latent::test {

inline const GoldenSet& fast_golden() {
  static const GoldenSet set("fast");
  return set;
}

inline std::string sampler_of_class(const QString& class_name) {
  if (class_name == "LCMScheduler") return "lcm";
  if (class_name == "TCDScheduler") return "tcd";
  if (class_name == "DDIMScheduler") return "ddim";
  if (class_name == "EulerDiscreteScheduler") return "euler";
  if (class_name == "EulerAncestralDiscreteScheduler") return "euler_a";
  throw std::runtime_error("no sampler for " + class_name.toStdString());
}

}  // namespace latent::test
