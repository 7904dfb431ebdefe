#pragma once

// Reading a diffusers model folder (see open_model in model_files.h).

#include <QString>

#include "core/io/model_files.h"

namespace latent::io {

// The folder `dir`: model_index.json names its text encoders (text_encoder for SD 1.x,
// text_encoder and text_encoder_2 for the SDXL base, text_encoder_2 alone for the refiner,
// whose model_index.json lists text_encoder as [null, null]); each needs its config.json,
// weights and tokenizer folder beside unet/, vae/ and scheduler/.
ModelFiles open_model_folder(const QString& dir);

}  // namespace latent::io
