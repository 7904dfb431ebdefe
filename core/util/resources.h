#pragma once

// Where the bundled resources (tokenizer vocabulary, Stable Diffusion 1.5 configs) live.

#include <string>

namespace latent::util {

// The resources folder, searched in order: $LATENT_RESOURCES_DIR, <prefix>/share/latentstudio
// beside the running executable (an installed program), and the source tree's resources/
// (a build tree). Throws latent::Error listing the places searched when none is found.
std::string resources_dir();

// `relative` inside the resources folder (the path is not checked).
std::string resource_path(const std::string& relative);

}  // namespace latent::util
