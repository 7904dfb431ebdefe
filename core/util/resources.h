#pragma once

// Where the bundled resources (tokenizer vocabulary, Stable Diffusion 1.5 configs) live.

#include <string>

namespace latent::util {

// The resources folder. For now this is the source tree's resources/ (the
// LATENT_SOURCE_RESOURCES compile definition); an installed program will also
// search its install prefix here. Throws latent::Error when none is found.
std::string resources_dir();

// `relative` inside the resources folder (the path is not checked).
std::string resource_path(const std::string& relative);

}  // namespace latent::util
