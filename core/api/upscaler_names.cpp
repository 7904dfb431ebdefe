#include "core/api/upscaler_names.h"

#include <algorithm>
#include <cctype>

namespace latent::api {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

const std::vector<BuiltInUpscaler>& built_in_upscalers() {
  // The web UI's latent_upscale_modes (modules/shared.py) with the interpolation each
  // names, and its "Lanczos" (PIL's LANCZOS on the decoded picture).
  static const std::vector<BuiltInUpscaler> all = {
      {"latent", "Latent", "bilinear", false},
      {"latent-antialiased", "Latent (antialiased)", "bilinear", true},
      {"latent-bicubic", "Latent (bicubic)", "bicubic", false},
      {"latent-bicubic-antialiased", "Latent (bicubic antialiased)", "bicubic", true},
      {"latent-nearest", "Latent (nearest)", "nearest", false},
      {"latent-nearest-exact", "Latent (nearest-exact)", "nearest-exact", false},
      {"lanczos", "Lanczos", "", false},
  };
  return all;
}

const BuiltInUpscaler* find_built_in_upscaler(const std::string& name) {
  const std::string wanted = lower(name);
  for (const auto& upscaler : built_in_upscalers())
    if (lower(upscaler.name) == wanted || lower(upscaler.webui_name) == wanted) return &upscaler;
  return nullptr;
}

std::string upscaler_metadata_name(const std::string& upscaler) {
  if (const auto* built_in = find_built_in_upscaler(upscaler)) return built_in->webui_name;
  const auto slash = upscaler.find_last_of("/\\");
  std::string file = slash == std::string::npos ? upscaler : upscaler.substr(slash + 1);
  const auto dot = file.find_last_of('.');
  if (dot != std::string::npos && dot > 0) file.resize(dot);
  return file;
}

std::string upscaler_from_metadata(const std::string& webui_name) {
  if (const auto* built_in = find_built_in_upscaler(webui_name)) return built_in->name;
  return webui_name;
}

std::string built_in_upscaler_list() {
  std::string out;
  for (const auto& upscaler : built_in_upscalers()) out += (out.empty() ? "" : ", ") + upscaler.name;
  return out;
}

}  // namespace latent::api
