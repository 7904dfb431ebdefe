#include "core/io/state_dict.h"

#include <algorithm>
#include <sstream>

#include "core/util/error.h"
#include "core/util/weight_edits.h"

namespace latent::io {
namespace {

std::string shape_text(torch::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

std::string list_some(const std::vector<std::string>& names, std::size_t limit = 5) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

TensorMap read_tensors(const SafetensorsFile& file) {
  TensorMap out;
  for (const auto& info : file.tensors()) out[info.name] = file.tensor(info.name);
  return out;
}

LoadReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors,
                           const std::string& source, const std::vector<std::string>& optional,
                           bool allow_unexpected) {
  torch::NoGradGuard no_grad;
  LoadReport report;
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : module.named_parameters(true)) targets[item.key()] = item.value();
  for (const auto& item : module.named_buffers(true)) targets[item.key()] = item.value();

  util::note_weight_edit();  // whatever the outcome, some targets may have been written
  for (auto& [name, target] : targets) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) {
      if (std::find(optional.begin(), optional.end(), name) == optional.end())
        report.missing.push_back(name);
      continue;
    }
    const torch::Tensor& value = found->second;
    if (value.sizes() != target.sizes()) {
      report.mismatched.push_back(name + ": " + shape_text(value.sizes()) + " where " +
                                  shape_text(target.sizes()) + " was expected");
      continue;
    }
    target.copy_(value);
  }
  for (const auto& [name, value] : tensors)
    if (!targets.count(name)) report.unexpected.push_back(name);

  if (!report.missing.empty())
    throw Error("'" + source + "' lacks " + std::to_string(report.missing.size()) +
                " tensors the model needs: " + list_some(report.missing));
  if (!report.mismatched.empty())
    throw Error("'" + source + "' holds tensors of the wrong shape: " + list_some(report.mismatched));
  if (!allow_unexpected && !report.unexpected.empty())
    throw Error("'" + source + "' holds tensors the model does not know: " +
                list_some(report.unexpected));
  return report;
}

}  // namespace latent::io
