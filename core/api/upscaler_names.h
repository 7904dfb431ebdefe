#pragma once

// The upscalers a hires fix or an "Upscale" can name without a file: the web UI's latent
// interpolation modes and Lanczos. Each has the command line's name (`latent-bicubic`) and
// the web UI's (`Latent (bicubic)`, what the metadata writes). Anything else names an
// upscaler network file. Free of LibTorch: the metadata readers and the GUI use it too.

#include <string>
#include <vector>

namespace latent::api {

struct BuiltInUpscaler {
  std::string name;        // the command line's and the request's
  std::string webui_name;  // the metadata's ("Hires upscaler")
  // Latent upscalers interpolate the first pass's latents (LibTorch's interpolate mode);
  // empty for an upscaler of decoded pictures (Lanczos).
  std::string latent_mode;
  bool antialias = false;

  bool is_latent() const { return !latent_mode.empty(); }
};

// All of them, the web UI's default ("latent") first.
const std::vector<BuiltInUpscaler>& built_in_upscalers();

// The built-in upscaler with this command-line or web-UI name (ASCII case ignored); null
// for any other name (a network file, or one the web UI has and this program lacks).
const BuiltInUpscaler* find_built_in_upscaler(const std::string& name);

// What the metadata writes for a request's upscaler: a built-in's web-UI name, else the
// network's file name without folder and extension, as the web UI names its models.
std::string upscaler_metadata_name(const std::string& upscaler);

// The request's upscaler for a name read from metadata: a built-in's command-line name,
// else the name as written (resolved against an upscaler folder later).
std::string upscaler_from_metadata(const std::string& webui_name);

// "latent, latent-antialiased, ..., lanczos" for error messages and --help.
std::string built_in_upscaler_list();

}  // namespace latent::api
