#pragma once

// Trains the starter model: a small Stable Diffusion (AutoencoderKL, CLIP text encoder,
// UNet2DConditionModel, the same classes and config.json format as the real ones) on the
// synthetic shapes dataset, and writes it as an ordinary diffusers folder. First the VAE
// (reconstruction + a small KL term), then the text encoder and the UNet together with
// the noise-prediction objective on latents of a fixed pool of pictures. Everything is
// drawn from one seed, so a run is reproducible on the same machine and thread count.

#include <QJsonObject>

#include <atomic>
#include <cstdint>
#include <string>

#include "core/training/training_progress.h"

namespace latent::training {

struct StarterTrainingOptions {
  std::string out_dir;  // created; must not exist or be empty
  uint64_t seed = 0;
  int side = 64;  // picture side in pixels
  int vae_steps = 4000;
  int vae_batch = 8;
  double vae_learning_rate = 1e-3;
  int pool_size = 8000;  // pictures whose latents the UNet stage learns from
  int unet_steps = 16000;
  int unet_batch = 32;
  double unet_learning_rate = 1e-3;
  double caption_dropout = 0.1;  // share of empty captions, for classifier-free guidance
  // The written text encoder and UNet are an exponential moving average of the trained
  // weights (0 = the last weights): steadier samples than any single step's weights.
  double ema_decay = 0.999;
  bool tiny = false;             // the smallest networks, for tests
  std::string dtype = "fp16";    // precision of the written weights
  // A model folder whose trained VAE is taken instead of training one (stage 1 skipped);
  // the rest of the run is the same as after training that VAE with these options.
  std::string vae_from;
};

struct StarterTrainingResult {
  double vae_first_loss = 0, vae_last_loss = 0;    // means over the first and last steps
  double unet_first_loss = 0, unet_last_loss = 0;
  double scaling_factor = 0;
  double seconds = 0;
};

// The networks' configs (diffusers keys, starting from the bundled SD 1.5 ones).
struct StarterConfigs {
  QJsonObject vae, text_encoder, unet;
};
StarterConfigs starter_configs(bool tiny);

// Runs both stages and writes the folder (model_index.json, scheduler/, tokenizer/,
// text_encoder/, unet/, vae/, loss_log.csv). The folder is assembled beside out_dir and
// renamed into place at the end, so a cancelled or failed run (latent::Cancelled,
// latent::Error) leaves nothing behind.
StarterTrainingResult train_starter_model(const StarterTrainingOptions& options, const TrainingObserver& observer = {},
                                          const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::training
