#pragma once

// Reading a single-file .safetensors checkpoint (see open_model in model_files.h).

#include <string>

#include "core/io/model_files.h"

namespace latent::io {

// The checkpoint at `path` (not a pickle: open_model has checked), in the layout its keys
// show (checkpoint_layout.h), with the configs of `config_dir`, or the bundled ones of that
// layout when it is empty (for SD 2.x, those `prediction` picks: see
// bundled_config_folder). The configs must describe the family the keys show.
ModelFiles open_single_file_model(const std::string& path, const std::string& config_dir,
                                  const std::string& prediction = "");

}  // namespace latent::io
