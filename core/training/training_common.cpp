#include "core/training/training_common.h"

#include <chrono>
#include <numeric>

#include "core/io/safetensors.h"
#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/scheduler.h"
#include "core/util/error.h"

namespace latent::training {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

LossLog::LossLog(const std::string& path) {
  if (path.empty()) return;
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw Error("cannot write the loss log '" + path + "'");
  std::fprintf(file_, "stage,step,loss,learning_rate,seconds\n");
}

LossLog::~LossLog() {
  if (file_) std::fclose(file_);
}

void LossLog::add(const std::string& stage, int step, double loss, double learning_rate, double seconds) {
  if (!file_) return;
  std::fprintf(file_, "%s,%d,%.6f,%.3g,%.1f\n", stage.c_str(), step, loss, learning_rate, seconds);
  std::fflush(file_);
}

StageMeter::StageMeter(std::string stage, int total_steps, int window)
    : stage_(std::move(stage)), total_(total_steps), window_(window), start_(now_seconds()) {}

TrainingProgress StageMeter::update(int step, double loss) {
  recent_.push_back(loss);
  if (static_cast<int>(recent_.size()) > window_) recent_.erase(recent_.begin());
  TrainingProgress p;
  p.stage = stage_;
  p.step = step;
  p.total_steps = total_;
  p.loss = loss;
  p.average_loss = std::accumulate(recent_.begin(), recent_.end(), 0.0) / recent_.size();
  p.seconds_elapsed = now_seconds() - start_;
  p.seconds_left = step > 0 ? p.seconds_elapsed / step * (total_ - step) : 0;
  return p;
}

torch::Tensor pictures_to_tensor(const std::vector<cv::Mat>& rgb) {
  if (rgb.empty()) throw Error("no pictures in the batch");
  std::vector<torch::Tensor> items;
  for (const auto& m : rgb) {
    if (m.type() != CV_8UC3 || m.size() != rgb.front().size())
      throw Error("training pictures must be 8-bit RGB and all of one size");
    const cv::Mat c = m.isContinuous() ? m : m.clone();
    items.push_back(torch::from_blob(c.data, {c.rows, c.cols, 3}, torch::kUInt8).clone());
  }
  return torch::stack(items).permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
}

torch::Tensor tokenize_captions(const text::ClipTokenizer& tokenizer, const std::vector<std::string>& captions) {
  std::vector<torch::Tensor> rows;
  for (const auto& caption : captions) rows.push_back(torch::tensor(tokenizer.encode_padded(caption), torch::kInt64));
  return torch::stack(rows);  // [B, 77]
}

torch::Tensor training_alphas_cumprod(const QJsonObject& scheduler_config) {
  const auto config = schedulers::SchedulerConfig::from_json(scheduler_config);
  if (config.prediction_type != "epsilon")
    throw Error("training predicts the noise (prediction_type epsilon), not '" + config.prediction_type + "'");
  return schedulers::make_alphas_cumprod(schedulers::make_betas(config));
}

torch::Tensor noise_prediction_loss(models::UNet2DConditionModel& unet, const torch::Tensor& latents,
                                    const torch::Tensor& text_embeddings, const torch::Tensor& alphas_cumprod,
                                    at::Generator& generator) {
  const int64_t batch = latents.size(0);
  // Drawn on the CPU (as the pipeline draws its noise), so a seed means the same anywhere.
  const auto timesteps = torch::randint(0, alphas_cumprod.size(0), {batch}, generator, torch::kInt64);
  const auto noise = torch::randn(latents.sizes(), generator, torch::kFloat32).to(latents.device());
  const auto abar = alphas_cumprod.to(torch::kCPU).index_select(0, timesteps).view({batch, 1, 1, 1}).to(latents.device());
  const auto noisy = abar.sqrt() * latents + (1 - abar).sqrt() * noise;  // q(x_t | x_0)
  const auto predicted = unet->forward(noisy, timesteps.to(latents.device()), text_embeddings);
  return torch::mse_loss(predicted.to(torch::kFloat32), noise);
}

double scheduled_learning_rate(double peak, int step, int total_steps, int warmup_steps, double floor) {
  if (step < warmup_steps) return peak * (step + 1) / warmup_steps;
  const double progress = static_cast<double>(step - warmup_steps) / std::max(1, total_steps - warmup_steps);
  const double cosine = 0.5 * (1 + std::cos(3.14159265358979323846 * std::min(1.0, progress)));
  return peak * (floor + (1 - floor) * cosine);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learning_rate);
}

void write_module_weights(torch::nn::Module& module, const std::string& path, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : module.named_parameters(true))
    tensors.emplace_back(item.key(), item.value().detach().to(dtype).contiguous());
  for (const auto& item : module.named_buffers(true))
    tensors.emplace_back(item.key(), item.value().detach().contiguous());
  io::write_safetensors(path, tensors, {{"format", "pt"}});
}

}  // namespace latent::training
