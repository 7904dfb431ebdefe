#pragma once

// Pieces shared by the starter-model trainer and the LoRA trainer: progress reports,
// the loss log, batches of pictures and captions, the noise-prediction objective and
// writing weights.

#include <torch/torch.h>

#include <opencv2/core.hpp>

#include <QJsonObject>

#include <cstdio>
#include <string>
#include <vector>

#include "core/models/clip_text_model.h"
#include "core/models/unet_2d_condition.h"
#include "core/text/clip_tokenizer.h"
#include "core/training/training_progress.h"

namespace latent::training {

// A CSV file of stage,step,loss,learning_rate,seconds, flushed on every line.
class LossLog {
 public:
  LossLog() = default;
  explicit LossLog(const std::string& path);  // "" = no file
  ~LossLog();
  LossLog(const LossLog&) = delete;
  LossLog& operator=(const LossLog&) = delete;
  void add(const std::string& stage, int step, double loss, double learning_rate, double seconds);

 private:
  std::FILE* file_ = nullptr;
};

// Keeps the running mean of the last `window` losses and the stage's clock.
class StageMeter {
 public:
  StageMeter(std::string stage, int total_steps, int window = 50);
  TrainingProgress update(int step, double loss);

 private:
  std::string stage_;
  int total_;
  int window_;
  std::vector<double> recent_;
  double start_ = 0;
};

// 8-bit RGB pictures (all of one size) → [B, 3, H, W] float32 in [-1, 1].
torch::Tensor pictures_to_tensor(const std::vector<cv::Mat>& rgb);
// Captions → [B, 77] int64 token ids, padded as the pipeline pads prompts.
torch::Tensor tokenize_captions(const text::ClipTokenizer& tokenizer, const std::vector<std::string>& captions);

// ᾱ_t of the training schedule a scheduler config describes: [T] float32.
torch::Tensor training_alphas_cumprod(const QJsonObject& scheduler_config);

// The standard denoising objective (Ho et al. 2020; Stable Diffusion): noise latents
// [B, C, h, w] (already scaled) to a random timestep, predict the noise given the text
// embeddings [B, 77, D], mean squared error. Timesteps and noise come from `generator`.
torch::Tensor noise_prediction_loss(models::UNet2DConditionModel& unet, const torch::Tensor& latents,
                                    const torch::Tensor& text_embeddings, const torch::Tensor& alphas_cumprod,
                                    at::Generator& generator);

// Learning rate with linear warm-up and cosine decay to `floor`·peak.
double scheduled_learning_rate(double peak, int step, int total_steps, int warmup_steps, double floor = 0.1);
void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate);

// Every parameter and buffer of `module`, by name, converted to `dtype`, written to
// `path` as safetensors.
void write_module_weights(torch::nn::Module& module, const std::string& path, torch::ScalarType dtype);

}  // namespace latent::training
