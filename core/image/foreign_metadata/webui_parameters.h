#pragma once

// The web UI's `parameters` text as metadata: the program that wrote it (its "Version"
// field tells the web UI from Forge, Fooocus's "a1111" scheme and Latent Studio), and the
// fields Latent Studio has no counterpart for set aside.

#include <string>

#include "core/image/file_metadata.h"

namespace latent::image {

ImageMetadata read_webui_parameters(const std::string& text, const std::string& location);

}  // namespace latent::image
