#pragma once

// LoRA fine-tuning (Hu et al. 2021, as kohya-ss sd-scripts trains it for Stable Diffusion):
// low-rank adapters W + (α/r)·up·down on the UNet's attention projections (to_q, to_k,
// to_v, to_out.0) and optionally the text encoder's (q/k/v/out_proj), base weights
// frozen, trained with the noise-prediction objective on a folder of pictures with
// .txt captions. Written in the kohya layout (lora_unet_…/lora_te_… + .lora_down.weight,
// .lora_up.weight, .alpha) that the LoRA loader and other programs read.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/training/training_progress.h"

namespace latent::training {

struct LoraTrainingOptions {
  std::string model_path;  // diffusers folder or single-file checkpoint
  std::string data_dir;    // NAME.png/.jpg + NAME.txt pairs
  std::string out_path;    // FILE.safetensors
  int rank = 4;
  double alpha = 0;  // 0 = rank (scale 1)
  int steps = 300;
  int batch = 8;
  double learning_rate = 2e-3;
  bool train_text_encoder = false;
  // Adapt only the UNet's cross-attention (attn2), where words meet pictures: a new word
  // is learned while what other prompts draw changes least (as Custom Diffusion does).
  bool cross_attention_only = false;
  uint64_t seed = 0;
  std::string device = "cpu";
};

struct LoraTrainingResult {
  double first_loss = 0, last_loss = 0;  // means over the first and last tenth of the steps
  int pictures = 0;
  int modules = 0;  // adapted layers
  double seconds = 0;
};

// A folder's training pairs: pictures (RGB, resized to the first one's size rounded down
// to a multiple of 8) and their captions. Throws latent::Error when there are none, or a
// picture has no caption file or cannot be read.
struct CaptionedPictures {
  std::vector<cv::Mat> pictures;
  std::vector<std::string> captions;
};
CaptionedPictures read_captioned_folder(const std::string& dir);

// Trains and writes the LoRA (atomically: a cancelled run writes nothing).
LoraTrainingResult train_lora(const LoraTrainingOptions& options, const TrainingObserver& observer = {},
                              const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::training
