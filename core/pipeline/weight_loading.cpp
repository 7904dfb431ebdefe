#include "core/pipeline/weight_loading.h"

#include <set>
#include <sstream>

#include "core/models/quantized_weights.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

const std::string kScaleSuffix = std::string(".") + models::kWeightScaleName;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(torch::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

bool selected(const std::string& path, const std::vector<std::string>& prefixes) {
  for (const auto& prefix : prefixes)
    if (path.rfind(prefix, 0) == 0) return true;
  return false;
}

// A convolution models::conv2d can run in 8 bits: zero padding given as sizes.
bool quantizable(torch::nn::Module& module) {
  const auto* conv = module.as<torch::nn::Conv2d>();
  if (!conv) return module.as<torch::nn::Linear>() != nullptr;
  return c10::get_if<torch::ExpandingArray<2>>(&conv->options.padding()) &&
         c10::get_if<torch::enumtype::kZeros>(&conv->options.padding_mode());
}

}  // namespace

void check_weights_name(const std::string& name) {
  if (name != "auto" && name != "full" && name != "int8")
    throw Error("unknown weights '" + name + "': use auto, full or int8");
}

std::string resolve_weights(const std::string& name, bool files_hold_int8) {
  check_weights_name(name);
  if (name == "auto") return files_hold_int8 ? "int8" : "full";
  return name;
}

bool holds_int8_weights(const io::TensorMap& tensors) {
  for (const auto& entry : tensors)
    if (ends_with(entry.first, kScaleSuffix)) return true;
  return false;
}

void check_int8_tensors(const io::TensorMap& tensors, const std::string& source) {
  const auto refuse = [&](const std::string& what) { throw Error("'" + source + "': " + what); };
  for (const auto& [name, tensor] : tensors) {
    if (ends_with(name, kScaleSuffix)) {
      const std::string weight_name = name.substr(0, name.size() - kScaleSuffix.size()) + ".weight";
      const auto weight = tensors.find(weight_name);
      if (weight == tensors.end())
        refuse("the scale tensor '" + name + "' has no 8-bit weight '" + weight_name + "' beside it");
      if (weight->second.scalar_type() != torch::kInt8)
        refuse("the weight '" + weight_name + "' has scales ('" + name + "') but is " +
               std::string(c10::toString(weight->second.scalar_type())) + ", not int8");
      if (weight->second.dim() < 2)
        refuse("the 8-bit weight '" + weight_name + "' has shape " + shape_text(weight->second.sizes()) +
               "; 8-bit weights are matrices or convolution kernels");
      const int64_t channels = weight->second.size(0);
      if (tensor.dim() != 1 || tensor.size(0) != channels || !tensor.is_floating_point())
        refuse("the scale tensor '" + name + "' is " + std::string(c10::toString(tensor.scalar_type())) + " " +
               shape_text(tensor.sizes()) + " where floats [" + std::to_string(channels) +
               "] (one per output channel of '" + weight_name + "') were expected");
      const auto values = tensor.to(torch::kFloat32);
      if (!torch::isfinite(values).all().item<bool>() || (values < 0).any().item<bool>())
        refuse("the scale tensor '" + name + "' holds a negative or non-finite scale");
    } else if (tensor.scalar_type() == torch::kInt8) {
      const std::string base = ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : name;
      if (!tensors.count(base + kScaleSuffix))
        refuse("the 8-bit tensor '" + name + "' has no scale tensor '" + base + kScaleSuffix + "'");
    }
  }
}

const std::vector<std::string>& unet_int8_modules() {
  static const std::vector<std::string> modules{"down_blocks.", "mid_block.", "up_blocks."};
  return modules;
}

const std::vector<std::string>& text_encoder_int8_modules() {
  static const std::vector<std::string> modules{"text_model.encoder.", "text_projection"};
  return modules;
}

void prepare_weight_forms(torch::nn::Module& piece, const std::string& prefix, io::TensorMap& part,
                          const std::vector<std::string>& int8_modules) {
  torch::NoGradGuard no_grad;
  std::set<std::string> kept_scales;  // of the layers held in 8 bits
  for (const auto& item : piece.named_modules("", /*include_self=*/true)) {
    torch::Tensor* weight = models::layer_weight(*item.value());
    if (!weight) continue;
    const std::string path = prefix.empty() ? item.key() : item.key().empty() ? prefix : prefix + "." + item.key();
    const std::string weight_key = path + ".weight";
    const std::string scale_key = path + kScaleSuffix;
    const auto file_weight = part.find(weight_key);
    if (file_weight == part.end()) continue;  // the load reports it missing
    const bool file_int8 = part.count(scale_key) > 0;
    if (selected(path, int8_modules) && quantizable(*item.value())) {
      if (!file_int8) {
        if (file_weight->second.sizes() != weight->sizes()) continue;  // the load reports the shape
        auto quantized = models::quantize_per_channel(file_weight->second);
        file_weight->second = quantized.values;
        part[scale_key] = quantized.scale;
      }
      models::make_quantized(*item.value(), *weight);
      kept_scales.insert(scale_key);
    }
  }
  // Every other 8-bit tensor (check_int8_tensors has paired each with its scale) becomes
  // float32, which the load converts on like any full tensor.
  for (auto it = part.begin(); it != part.end();) {
    if (!ends_with(it->first, kScaleSuffix) || kept_scales.count(it->first)) {
      ++it;
      continue;
    }
    const auto weight = part.find(it->first.substr(0, it->first.size() - kScaleSuffix.size()) + ".weight");
    if (weight != part.end())
      weight->second = models::dequantize_per_channel(weight->second, it->second, torch::kFloat32);
    it = part.erase(it);
  }
}

}  // namespace latent::pipeline
