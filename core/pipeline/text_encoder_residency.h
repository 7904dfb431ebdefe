#pragma once

// Low-memory mode's text encoders: released after encoding (their weights' memory given
// back, the tensors kept so that everything holding them stays valid) and loaded again from
// the mapped model files, in the form they were loaded in, when next needed.

#include <cstdint>

namespace latent::pipeline {

struct ModelBundle;

// Bytes the text encoders' weights hold while loaded.
int64_t text_encoder_bytes(const ModelBundle& model);

// Releases every text encoder's weights (runs TextEncoderRelease::before_release first).
void release_text_encoders(ModelBundle& model);

// Loads released text encoders again (then runs TextEncoderRelease::after_reload); nothing
// when they are loaded. Throws latent::Error when a model file changed on disk since it
// was opened.
void ensure_text_encoders(ModelBundle& model);

// One use of the text encoders: loaded when it starts, released when it ends in low-memory
// mode (ModelBundle::low_memory).
class TextEncoderUse {
 public:
  explicit TextEncoderUse(ModelBundle& model);
  ~TextEncoderUse();
  TextEncoderUse(const TextEncoderUse&) = delete;
  TextEncoderUse& operator=(const TextEncoderUse&) = delete;

 private:
  ModelBundle& model_;
};

}  // namespace latent::pipeline
