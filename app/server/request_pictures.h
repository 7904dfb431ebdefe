#pragma once

// The pictures of an img2img request, from the bytes the client sent to files the engine
// reads exactly as `generate --init-image FILE --mask FILE` reads them (so both give the
// same pixels), after checking their format and size.

#include <memory>

#include "core/api_server/webui_request.h"

namespace latent::server {

// Writes the starting picture and mask of `parsed` into a new temporary folder, points
// the request at them, and returns the folder: the job keeps it while it runs, and it is
// removed with its last owner. Without width and height the picture's own size, rounded
// down to a multiple of 8, is the size (as `generate` does). Throws
// api_server::FieldError naming "init_images[0]" or "mask" for a picture that is not
// one or has a side over `maxSide` pixels.
std::shared_ptr<const void> attachPictures(api_server::WebuiRequest& parsed, int maxSide);

}  // namespace latent::server
