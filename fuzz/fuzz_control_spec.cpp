// Fuzzes the --control value parser (a ControlNet unit as key=value pairs): any bytes either
// give a unit naming a model and a picture with finite numbers, or are refused with
// latent::Error.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/control/control_spec.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto unit = latent::control::parse_control_spec(text);
    if (unit.model_path.empty() || unit.image_path.empty()) std::abort();
    for (const double x :
         {unit.weight, unit.guidance_start, unit.guidance_end, unit.threshold_a, unit.threshold_b})
      if (!std::isfinite(x)) std::abort();
  } catch (const latent::Error&) {
  }
  return 0;
}
