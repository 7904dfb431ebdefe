#pragma once

// The starter model bundled in the resources (a small model the project trains itself on
// pictures of coloured shapes; see core/training), used when no model is chosen.

#include <string>

namespace latent::util {

// The label shown wherever the starter model stands in for a chosen one.
inline constexpr const char* kStarterModelLabel = "starter model";

// resources/starter; throws latent::Error when the resources are not found.
std::string starter_model_dir();
// Whether the bundled starter model is present (model_index.json in its folder).
bool starter_model_available();

// Pictures the starter model was trained at: this many pixels a side.
inline constexpr int kStarterModelSide = 64;
// A caption of the kind the starter model learned, for a first start.
inline constexpr const char* kStarterExamplePrompt = "a large red circle on a blue background in the center";

}  // namespace latent::util
