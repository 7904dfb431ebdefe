// Fuzzes the reader of oneDNN's verbose output (bench --kernels): any bytes give a summary
// whose counts are positive and whose times, FLOP counts and rates are finite and not
// negative; lines that do not parse are skipped, never trusted.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/util/onednn_verbose.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool finite_not_negative(double x) { return std::isfinite(x) && x >= 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto exec = latent::util::parse_onednn_exec(text)) {
    check(finite_not_negative(exec->milliseconds));
    check(!exec->kind.empty() && !exec->implementation.empty());
    const double flops = latent::util::onednn_problem_flops(exec->kind, exec->problem);
    check(flops == -1 || finite_not_negative(flops));
  }
  const auto summary = latent::util::summarize_onednn_verbose(text);
  check(summary.lines_skipped >= 0);
  for (const auto& k : summary.kernels) {
    check(k.calls >= 1);
    check(finite_not_negative(k.milliseconds) && finite_not_negative(k.flops));
    check(finite_not_negative(k.milliseconds_with_flops) &&
          k.milliseconds_with_flops <= k.milliseconds * (1 + 1e-12));
    check(std::isfinite(k.gflops()));
  }
  return 0;
}
