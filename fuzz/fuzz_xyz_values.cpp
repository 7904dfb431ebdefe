// Fuzzes the X/Y/Z plot's axes: the first byte picks the axis type, the rest is its values
// text as a person types it. Any text either gives a plan whose every combination has a value
// of each axis (no list longer than kMaxAxisValues, no cell out of the grid), or is refused
// with latent::Error.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "core/pipeline/xyz_plan.h"
#include "core/pipeline/xyz_values.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pipeline = latent::pipeline;
  if (size == 0) return 0;
  const auto& types = pipeline::axis_types();
  const pipeline::AxisType type = types[data[0] % types.size()].type;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (pipeline::whole_number_values(text).size() > pipeline::kMaxAxisValues) std::abort();
  } catch (const latent::Error&) {
  }
  try {
    if (pipeline::number_values(text).size() > pipeline::kMaxAxisValues) std::abort();
  } catch (const latent::Error&) {
  }

  latent::api::GenerationRequest base;
  base.prompt = "a cat <lora:style:0.5> on a mat";
  base.negative_prompt = "blurry";
  base.loras.folder = "loras";
  base.init.path = "start.png";
  base.size.width = base.size.height = 64;
  pipeline::XyzContext context;
  context.samplers = {"euler", "euler_a", "lms", "dpmpp_2m_karras"};
  context.find_checkpoint = [](const std::string& value) { return value == "other" ? "models/other" : ""; };
  context.random_seed = [] { return uint64_t{42}; };
  try {
    const pipeline::XyzPlan plan =
        pipeline::make_xyz_plan(base, "models/base", {type, text}, {pipeline::AxisType::seed, "1, 2"}, {}, context);
    if (plan.x.size() < 1 || plan.x.size() > pipeline::kMaxAxisValues) std::abort();
    const auto cells = plan.cells_in_run_order();
    if (static_cast<int>(cells.size()) != plan.cell_count()) std::abort();
    std::set<int> seen;
    for (const auto& cell : cells) {
      const int index = plan.grid_index(cell.x, cell.y, cell.z);
      if (index < 0 || index >= plan.cell_count() || !seen.insert(index).second) std::abort();
      if (type != pipeline::AxisType::nothing && plan.describe(cell).empty()) std::abort();
    }
    pipeline::xyz_grid_metadata({}, plan);
  } catch (const latent::Error&) {
  }
  return 0;
}
