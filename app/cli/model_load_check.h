#pragma once

// Whether a model will load, for `info`: it must refuse exactly what `generate` refuses,
// with the message loading gives, and name the model's family.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common_options.h"
#include "core/io/model_family.h"
#include "core/io/model_files.h"

struct LoadCheck {
  latent::io::ModelFamily family = latent::io::ModelFamily::sd1;
  // The parameter and buffer names of each network as built from the model's configs, by
  // its diffusers folder: "unet", "vae", "text_encoder", "text_encoder_2".
  std::map<std::string, std::set<std::string>> networkTensors;
};

// Loads the model with generate's loader (in bf16, on the CPU) and lets it go again. Throws
// latent::Error "this <family> model will not load: <the loader's message>" (without the
// family when its configs cannot be read either) for a model that does not load.
LoadCheck checkModelLoads(const ModelChoice& model);

// "component: name" of the tensors in `files` that no network has. Loading skips them (it
// refuses only missing and mis-shaped tensors), so they are worth a warning, no more.
std::vector<std::string> unusedTensors(const LoadCheck& check, const latent::io::ModelFiles& files);
