#pragma once

// A request that starts from a picture, from files to finished images: the picture and
// mask are loaded, the canvas grown for outpainting, the mask feathered, the picture
// fitted to the working size (or, for "inpaint only the masked area", the region around
// the mask cut out and scaled to it), image_to_image run, and the result pasted back
// over the original with the feathered mask as its edge.

#include <atomic>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/image.h"
#include "core/pipeline/image_request_validation.h"
#include "core/pipeline/image_to_image.h"
#include "core/pipeline/model_bundle.h"

namespace latent::pipeline {

struct ImageRequestOutput {
  ImageMode mode = ImageMode::image_to_image;
  std::vector<api::Image> images;     // final pictures, pasted back where a mask was given
  std::vector<std::string> warnings;  // e.g. a mask of another size that was resized
  // image::pixel_hash of the picture as loaded and of the mask (empty without one), for
  // api::GenerationResult::init_image_hash and mask_hash.
  std::string init_image_hash;
  std::string mask_hash;
};

// True for a model whose UNet takes the inpainting channels (mask and masked picture).
bool is_inpainting_model(const ModelBundle& model);

// Runs a request with api::has_init_image(request); also a text-only request for an
// inpainting model (a blank picture, all repainted, at strength 1). Observer and cancel
// as text_to_image. Throws latent::Error for bad input (an unreadable picture, an empty
// mask, a working size whose VAE pass would not fit in free memory) before the work.
// `control`: the ControlNets guiding the run, their maps at the request's size.
ImageRequestOutput run_image_request(ModelBundle& model, const api::GenerationRequest& request,
                                     const StepObserver& observer = {},
                                     const std::atomic<bool>* cancel = nullptr,
                                     const ControlParams& control = {});

}  // namespace latent::pipeline
