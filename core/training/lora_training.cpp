#include "core/training/lora_training.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QDir>
#include <QFileInfo>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/api/load_options.h"
#include "core/io/lora_keys.h"
#include "core/io/safetensors.h"
#include "core/pipeline/model_bundle.h"
#include "core/training/training_common.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::training {
namespace {

// One adapted Linear layer: its weight is replaced by base + scale·up·down for every
// training step, so gradients reach the two factors and nothing else.
struct Adapter {
  std::string key;  // kohya module name, lora_unet_… or lora_te_…
  torch::nn::Linear layer{nullptr};
  torch::Tensor base;  // the frozen weight [out, in]
  torch::Tensor down;  // [rank, in]
  torch::Tensor up;    // [out, rank], zero at first so training starts from the base model
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<Adapter> make_adapters(torch::nn::Module& module, const std::string& prefix,
                                   const std::vector<std::string>& suffixes, int rank) {
  std::vector<Adapter> adapters;
  for (const auto& item : module.named_modules("", false)) {
    auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value());
    if (!linear) continue;
    bool wanted = false;
    for (const auto& s : suffixes) wanted = wanted || ends_with(item.key(), s);
    if (!wanted) continue;
    Adapter a;
    a.key = prefix + io::underscored(item.key());
    a.layer = torch::nn::Linear(linear);
    a.base = linear->weight;
    const int64_t in = a.base.size(1), out = a.base.size(0);
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(a.base.device());
    // kohya's initialisation: down uniform as a default Linear's weight, up zero.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    a.down = (torch::rand({rank, in}, options) * 2 - 1).mul(bound).requires_grad_(true);
    a.up = torch::zeros({out, rank}, options).requires_grad_(true);
    adapters.push_back(std::move(a));
  }
  return adapters;
}

void attach(std::vector<Adapter>& adapters, double scale) {
  for (auto& a : adapters)
    a.layer->weight = a.base + (a.up.matmul(a.down) * scale).to(a.base.scalar_type());
}

void detach_all(std::vector<Adapter>& adapters) {
  for (auto& a : adapters) a.layer->weight = a.base;
}

// Restores the base weights whatever happens.
struct AdapterScope {
  std::vector<Adapter>& adapters;
  ~AdapterScope() { detach_all(adapters); }
};

std::string read_text(const QString& path) {
  std::ifstream in(path.toStdString());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

CaptionedPictures read_captioned_folder(const std::string& dir) {
  const QDir folder(QString::fromStdString(dir));
  if (!folder.exists()) throw Error("the training folder '" + dir + "' does not exist");
  CaptionedPictures out;
  cv::Size size;
  for (const QString& name : folder.entryList({"*.png", "*.jpg", "*.jpeg", "*.webp"}, QDir::Files, QDir::Name)) {
    const QString caption_path = folder.filePath(QFileInfo(name).completeBaseName() + ".txt");
    if (!QFileInfo(caption_path).isFile())
      throw Error("the picture '" + folder.filePath(name).toStdString() + "' has no caption file '" +
                  caption_path.toStdString() + "'");
    cv::Mat bgr = cv::imread(folder.filePath(name).toStdString(), cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error("cannot read the picture '" + folder.filePath(name).toStdString() + "'");
    if (size.empty()) size = cv::Size(std::max(8, bgr.cols / 8 * 8), std::max(8, bgr.rows / 8 * 8));
    if (bgr.size() != size) cv::resize(bgr, bgr, size, 0, 0, cv::INTER_AREA);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    out.pictures.push_back(rgb);
    out.captions.push_back(read_text(caption_path));
  }
  if (out.pictures.empty()) throw Error("the training folder '" + dir + "' holds no pictures (.png, .jpg) with captions");
  return out;
}

LoraTrainingResult train_lora(const LoraTrainingOptions& o, const TrainingObserver& observer,
                              const std::atomic<bool>* cancel) {
  const auto started = std::chrono::steady_clock::now();
  if (o.rank < 1) throw Error("the LoRA rank must be at least 1, not " + std::to_string(o.rank));
  if (o.steps < 1 || o.batch < 1) throw Error("steps and batch size must be at least 1");
  if (!(o.learning_rate > 0)) throw Error("the learning rate must be positive");
  if (!ends_with(o.out_path, ".safetensors")) throw Error("the LoRA file '" + o.out_path + "' must end in .safetensors");
  const auto data = read_captioned_folder(o.data_dir);

  api::LoadOptions load;
  load.model_path = o.model_path;
  load.device = o.device;
  load.dtype = "fp32";
  load.weights = "full";  // an 8-bit folder (convert --weights int8) trains on its dequantized weights
  auto model = pipeline::load_model_bundle(load);
  for (auto& p : model->unet->parameters()) {
    p.requires_grad_(false);
    // Inference keeps convolutions channels-last; training's backward pass runs faster on
    // the plain layout here.
    if (p.dim() == 4) p.set_data(p.contiguous());
  }
  for (auto& p : model->text_encoder()->parameters()) p.requires_grad_(false);
  for (auto& p : model->vae->parameters()) p.requires_grad_(false);

  torch::manual_seed(o.seed);
  auto generator = at::detail::createCPUGenerator(o.seed + 1);
  const double alpha = o.alpha > 0 ? o.alpha : o.rank;
  const double scale = alpha / o.rank;

  // Latents of every picture once (the VAE stays frozen); noise is drawn per step.
  torch::Tensor means, stds;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> m, s;
    for (size_t i = 0; i < data.pictures.size(); i += 16) {
      throw_if_cancelled(cancel);
      const std::vector<cv::Mat> chunk(data.pictures.begin() + i,
                                       data.pictures.begin() + std::min(data.pictures.size(), i + 16));
      const auto posterior = model->vae->encode(pictures_to_tensor(chunk).to(model->device));
      m.push_back(posterior.mean.to(torch::kCPU, torch::kFloat32).contiguous());
      s.push_back(posterior.std.to(torch::kCPU, torch::kFloat32).contiguous());
    }
    means = torch::cat(m);
    stds = torch::cat(s);
  }
  const auto ids = tokenize_captions(model->tokenizer(), data.captions);
  const auto alphas_cumprod = training_alphas_cumprod(model->scheduler_config);

  const std::vector<std::string> unet_targets =
      o.cross_attention_only ? std::vector<std::string>{".attn2.to_q", ".attn2.to_k", ".attn2.to_v", ".attn2.to_out.0"}
                             : std::vector<std::string>{".to_q", ".to_k", ".to_v", ".to_out.0"};
  std::vector<Adapter> adapters = make_adapters(*model->unet, "lora_unet_", unet_targets, o.rank);
  if (adapters.empty()) throw Error("the model's UNet has no attention projections to adapt");
  if (o.train_text_encoder) {
    auto te = make_adapters(*model->text_encoder(), "lora_te_", {".q_proj", ".k_proj", ".v_proj", ".out_proj"}, o.rank);
    adapters.insert(adapters.end(), te.begin(), te.end());
  }
  AdapterScope scope{adapters};
  std::vector<torch::Tensor> factors;
  for (const auto& a : adapters) factors.push_back(a.down), factors.push_back(a.up);
  torch::optim::Adam optimizer(factors, torch::optim::AdamOptions(o.learning_rate));
  model->unet->train();
  model->text_encoder()->train();

  StageMeter meter("lora", o.steps);
  std::vector<double> losses;
  const int64_t n = means.size(0);
  const double latent_scale = model->vae->scaling_factor();
  for (int step = 0; step < o.steps; ++step) {
    throw_if_cancelled(cancel);
    const double lr = scheduled_learning_rate(o.learning_rate, step, o.steps, std::min(20, o.steps / 10 + 1));
    set_learning_rate(optimizer, lr);
    attach(adapters, scale);
    const auto pick = torch::randint(0, n, {o.batch}, generator, torch::kInt64);
    const auto mean = means.index_select(0, pick), std = stds.index_select(0, pick);
    const auto latents = ((mean + std * torch::randn(mean.sizes(), generator, torch::kFloat32)) * latent_scale).to(model->device);
    torch::Tensor embeddings;
    {
      torch::AutoGradMode grad(o.train_text_encoder);
      embeddings = model->text_encoder()->forward(ids.index_select(0, pick).to(model->device));
    }
    const auto loss = noise_prediction_loss(model->unet, latents, embeddings, alphas_cumprod, generator);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    const double value = loss.item<double>();
    losses.push_back(value);
    if (observer) observer(meter.update(step + 1, value));
  }
  throw_if_cancelled(cancel);

  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& a : adapters) {
    tensors.emplace_back(a.key + ".lora_down.weight", a.down.detach().to(torch::kCPU).contiguous());
    tensors.emplace_back(a.key + ".lora_up.weight", a.up.detach().to(torch::kCPU).contiguous());
    tensors.emplace_back(a.key + ".alpha", torch::tensor(static_cast<float>(alpha)));
  }
  io::write_safetensors(o.out_path, tensors,
                        {{"ss_network_module", "networks.lora"},
                         {"ss_network_dim", std::to_string(o.rank)},
                         {"ss_network_alpha", std::to_string(alpha)},
                         {"ss_training_comment", "trained by latentstudio-cli train-lora"}});

  LoraTrainingResult result;
  const size_t k = std::max<size_t>(1, losses.size() / 10);
  for (size_t i = 0; i < k; ++i) result.first_loss += losses[i] / k, result.last_loss += losses[losses.size() - 1 - i] / k;
  result.pictures = static_cast<int>(n);
  result.modules = static_cast<int>(adapters.size());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace latent::training
