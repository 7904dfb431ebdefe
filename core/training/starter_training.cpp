#include "core/training/starter_training.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

#include <chrono>
#include <random>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/config_json.h"
#include "core/training/shapes_dataset.h"
#include "core/training/training_common.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::training {
namespace {

QJsonArray ints(std::initializer_list<int> values) {
  QJsonArray a;
  for (int v : values) a.append(v);
  return a;
}

QJsonArray strings(std::initializer_list<const char*> values) {
  QJsonArray a;
  for (const char* v : values) a.append(v);
  return a;
}

void write_json(const QJsonObject& json, const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(json).toJson()) < 0)
    throw Error("cannot write '" + path.toStdString() + "'");
}

void copy_file(const QString& from, const QString& to) {
  QFile::remove(to);
  if (!QFile::copy(from, to)) throw Error("cannot copy '" + from.toStdString() + "' to '" + to.toStdString() + "'");
}

double mean_of(const std::vector<double>& v, size_t first, size_t count) {
  double s = 0;
  size_t n = 0;
  for (size_t i = first; i < std::min(v.size(), first + count); ++i) s += v[i], ++n;
  return n ? s / n : 0;
}

// Mean loss of the first and the last tenth of a stage (at least one step each).
std::pair<double, double> first_and_last(const std::vector<double>& losses) {
  const size_t k = std::max<size_t>(1, losses.size() / 10);
  return {mean_of(losses, 0, k), mean_of(losses, losses.size() - k, k)};
}

std::vector<cv::Mat> render_all(const std::vector<ShapeScene>& scenes, int side) {
  std::vector<cv::Mat> pictures;
  pictures.reserve(scenes.size());
  for (const auto& s : scenes) pictures.push_back(render_scene(s, side));
  return pictures;
}

// Stage 1: the autoencoder, on freshly drawn pictures every step.
std::vector<double> train_vae(models::AutoencoderKL& vae, const StarterTrainingOptions& o, std::mt19937_64& rng,
                              at::Generator& generator, LossLog& log, const TrainingObserver& observer,
                              const std::atomic<bool>* cancel) {
  vae->train();
  torch::optim::Adam optimizer(vae->parameters(), torch::optim::AdamOptions(o.vae_learning_rate));
  StageMeter meter("vae", o.vae_steps);
  std::vector<double> losses;
  for (int step = 0; step < o.vae_steps; ++step) {
    throw_if_cancelled(cancel);
    std::vector<ShapeScene> scenes;
    for (int i = 0; i < o.vae_batch; ++i) scenes.push_back(random_training_scene(rng, starter_shapes()));
    const auto pictures = pictures_to_tensor(render_all(scenes, o.side));  // [B, 3, H, W]
    const double lr = scheduled_learning_rate(o.vae_learning_rate, step, o.vae_steps, std::max(1, std::min(50, o.vae_steps / 5)));
    set_learning_rate(optimizer, lr);

    const auto posterior = vae->encode(pictures);
    const auto rebuilt = vae->decode(posterior.sample(generator));
    const auto reconstruction = (rebuilt - pictures).abs().mean() + torch::mse_loss(rebuilt, pictures);
    const auto kl = 0.5 * (posterior.mean.pow(2) + posterior.logvar.exp() - 1 - posterior.logvar).sum({1, 2, 3}).mean();
    const auto loss = reconstruction + 1e-6 * kl;
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(vae->parameters(), 1.0);
    optimizer.step();

    const double value = reconstruction.item<double>();
    losses.push_back(value);
    const auto progress = meter.update(step + 1, value);
    log.add("vae", step + 1, value, lr, progress.seconds_elapsed);
    if (observer) observer(progress);
  }
  vae->eval();
  return losses;
}

// The fixed pool of pictures for stage 2, as latent distributions and caption tokens.
struct LatentPool {
  torch::Tensor mean, std;  // [N, C, h, w]
  torch::Tensor ids;        // [N, 77]
};

LatentPool encode_pool(models::AutoencoderKL& vae, const text::ClipTokenizer& tokenizer,
                       const StarterTrainingOptions& o, std::mt19937_64& rng, const std::atomic<bool>* cancel) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> means, stds, ids;
  for (int start = 0; start < o.pool_size; start += 64) {
    throw_if_cancelled(cancel);
    std::vector<ShapeScene> scenes;
    std::vector<std::string> captions;
    for (int i = start; i < std::min(o.pool_size, start + 64); ++i) {
      scenes.push_back(random_training_scene(rng, starter_shapes()));
      captions.push_back(scenes.back().caption());
    }
    const auto posterior = vae->encode(pictures_to_tensor(render_all(scenes, o.side)));
    means.push_back(posterior.mean);
    stds.push_back(posterior.std);
    ids.push_back(tokenize_captions(tokenizer, captions));
  }
  return {torch::cat(means), torch::cat(stds), torch::cat(ids)};
}

// A running average of parameters, kept beside the trained ones. Early steps use a
// smaller decay (the usual warm-up, (1 + n) / (10 + n)) so the average forgets the random
// start quickly.
class WeightAverage {
 public:
  WeightAverage(std::vector<torch::Tensor> parameters, double decay) : parameters_(std::move(parameters)), decay_(decay) {
    if (decay_ <= 0) return;  // no average: the last weights are written
    torch::NoGradGuard no_grad;
    for (const auto& p : parameters_) average_.push_back(p.detach().clone());
  }
  void update() {
    if (decay_ <= 0) return;
    torch::NoGradGuard no_grad;
    ++updates_;
    const double d = std::min(decay_, (1.0 + updates_) / (10.0 + updates_));
    for (size_t i = 0; i < parameters_.size(); ++i) average_[i].mul_(d).add_(parameters_[i].detach(), 1 - d);
  }
  // Puts the average into the parameters (the trained values are not needed afterwards).
  void install() {
    if (decay_ <= 0) return;
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].copy_(average_[i]);
  }

 private:
  std::vector<torch::Tensor> parameters_, average_;
  double decay_;
  int64_t updates_ = 0;
};

// Stage 2: text encoder and UNet together, on pool latents scaled to unit variance.
std::vector<double> train_denoiser(models::CLIPTextModel& text_encoder, models::UNet2DConditionModel& unet,
                                   const LatentPool& pool, double scaling, const torch::Tensor& empty_ids,
                                   const torch::Tensor& alphas_cumprod, const StarterTrainingOptions& o,
                                   at::Generator& generator, LossLog& log, const TrainingObserver& observer,
                                   const std::atomic<bool>* cancel) {
  text_encoder->train();
  unet->train();
  std::vector<torch::Tensor> parameters = text_encoder->parameters();
  for (const auto& p : unet->parameters()) parameters.push_back(p);
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(o.unet_learning_rate));
  WeightAverage average(parameters, o.ema_decay);
  StageMeter meter("unet", o.unet_steps);
  std::vector<double> losses;
  const int64_t n = pool.mean.size(0);
  for (int step = 0; step < o.unet_steps; ++step) {
    throw_if_cancelled(cancel);
    const double lr = scheduled_learning_rate(o.unet_learning_rate, step, o.unet_steps, std::max(1, std::min(100, o.unet_steps / 5)));
    set_learning_rate(optimizer, lr);
    const auto pick = torch::randint(0, n, {o.unet_batch}, generator, torch::kInt64);
    const auto mean = pool.mean.index_select(0, pick), std = pool.std.index_select(0, pick);
    const auto latents = (mean + std * torch::randn(mean.sizes(), generator, torch::kFloat32)) * scaling;
    // Some captions are left empty, so the model also learns the unconditional noise
    // that classifier-free guidance steers away from.
    const auto dropped = torch::rand({o.unet_batch, 1}, generator, torch::kFloat32) < o.caption_dropout;
    const auto ids = torch::where(dropped, empty_ids.expand({o.unet_batch, -1}), pool.ids.index_select(0, pick));
    const auto embeddings = text_encoder->forward(ids);  // [B, 77, D]
    const auto loss = noise_prediction_loss(unet, latents, embeddings, alphas_cumprod, generator);
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(parameters, 1.0);
    optimizer.step();
    average.update();

    const double value = loss.item<double>();
    losses.push_back(value);
    const auto progress = meter.update(step + 1, value);
    log.add("unet", step + 1, value, lr, progress.seconds_elapsed);
    if (observer) observer(progress);
  }
  average.install();
  text_encoder->eval();
  unet->eval();
  return losses;
}

// The weights of `folder`/vae, which must have the architecture being trained.
void load_vae(models::AutoencoderKL& vae, const std::string& folder) {
  const std::string path = folder + "/vae/diffusion_pytorch_model.safetensors";
  const io::SafetensorsFile file(path);
  io::load_state_dict(*vae, io::read_tensors(file), path);
  vae->eval();
}

void round_weights(torch::nn::Module& module, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.copy_(p.to(dtype).to(p.scalar_type()));
}

}  // namespace

StarterConfigs starter_configs(bool tiny) {
  const QDir sd15(QString::fromStdString(util::resource_path("sd15")));
  StarterConfigs c;
  c.vae = models::config_json::read_file(sd15.filePath("vae/config.json").toStdString());
  c.text_encoder = models::config_json::read_file(sd15.filePath("text_encoder/config.json").toStdString());
  c.unet = models::config_json::read_file(sd15.filePath("unet/config.json").toStdString());

  // Three levels: 4 pixels per latent, so a 64×64 picture has 16×16 latents.
  c.vae["block_out_channels"] = tiny ? ints({8, 8, 8}) : ints({16, 32, 64});
  c.vae["down_block_types"] = strings({"DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"});
  c.vae["up_block_types"] = strings({"UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"});
  c.vae["layers_per_block"] = 1;
  c.vae["norm_num_groups"] = tiny ? 4 : 8;
  c.vae["sample_size"] = tiny ? 32 : 64;

  c.text_encoder["_name_or_path"] = "latentstudio-starter";
  c.text_encoder["hidden_size"] = tiny ? 32 : 64;
  c.text_encoder["projection_dim"] = tiny ? 32 : 64;
  c.text_encoder["intermediate_size"] = tiny ? 64 : 128;
  c.text_encoder["num_hidden_layers"] = tiny ? 1 : 2;
  c.text_encoder["num_attention_heads"] = tiny ? 2 : 4;

  if (tiny) {
    c.unet["block_out_channels"] = ints({16, 32});
    c.unet["down_block_types"] = strings({"CrossAttnDownBlock2D", "DownBlock2D"});
    c.unet["up_block_types"] = strings({"UpBlock2D", "CrossAttnUpBlock2D"});
    c.unet["attention_head_dim"] = 2;
    c.unet["cross_attention_dim"] = 32;
  } else {
    // Cross-attention on the 8×8 and 4×4 levels and the middle; plain convolutions at 16×16.
    c.unet["block_out_channels"] = ints({32, 64, 64});
    c.unet["down_block_types"] = strings({"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"});
    c.unet["up_block_types"] = strings({"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"});
    c.unet["attention_head_dim"] = 4;
    c.unet["cross_attention_dim"] = 64;
  }
  c.unet["layers_per_block"] = 1;
  c.unet["norm_num_groups"] = 8;
  c.unet["sample_size"] = tiny ? 8 : 16;
  return c;
}

StarterTrainingResult train_starter_model(const StarterTrainingOptions& o, const TrainingObserver& observer,
                                          const std::atomic<bool>* cancel) {
  const auto started = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw Error("no output folder given for the starter model");
  if (o.vae_steps < 1 || o.unet_steps < 1 || o.vae_batch < 1 || o.unet_batch < 1 || o.pool_size < 1)
    throw Error("training steps, batch sizes and the pool size must be at least 1");
  const QDir out(QString::fromStdString(o.out_dir));
  if (out.exists() && !out.isEmpty()) throw Error("'" + o.out_dir + "' exists and is not empty; choose a new folder");
  const torch::ScalarType dtype = o.dtype == "fp32" ? torch::kFloat32 : o.dtype == "fp16" ? torch::kFloat16
                                  : o.dtype == "bf16" ? torch::kBFloat16
                                  : throw Error("unknown precision '" + o.dtype + "': use fp32, fp16 or bf16");

  // Assembled beside the destination, renamed into place when complete.
  QDir partial(QString::fromStdString(o.out_dir + ".partial"));
  if (partial.exists()) partial.removeRecursively();
  for (const char* sub : {"unet", "vae", "text_encoder", "tokenizer", "scheduler"})
    if (!partial.mkpath(sub)) throw Error("cannot create '" + partial.filePath(sub).toStdString() + "'");
  struct Cleanup {
    QDir& dir;
    bool keep = false;
    ~Cleanup() {
      if (!keep) dir.removeRecursively();
    }
  } cleanup{partial};

  const QDir sd15(QString::fromStdString(util::resource_path("sd15")));
  const QDir tokenizer_dir(QString::fromStdString(util::resource_path("tokenizer")));
  copy_file(sd15.filePath("model_index.json"), partial.filePath("model_index.json"));
  copy_file(sd15.filePath("scheduler/scheduler_config.json"), partial.filePath("scheduler/scheduler_config.json"));
  for (const QString& name : tokenizer_dir.entryList(QDir::Files))
    copy_file(tokenizer_dir.filePath(name), partial.filePath("tokenizer/" + name));
  const auto tokenizer = text::ClipTokenizer::from_folder(tokenizer_dir.path().toStdString());
  const auto alphas_cumprod =
      training_alphas_cumprod(models::config_json::read_file(sd15.filePath("scheduler/scheduler_config.json").toStdString()));

  StarterConfigs configs = starter_configs(o.tiny);
  torch::manual_seed(o.seed);
  std::mt19937_64 rng(o.seed);
  auto generator = at::detail::createCPUGenerator(o.seed + 1);
  LossLog log(partial.filePath("loss_log.csv").toStdString());
  StarterTrainingResult result;

  models::AutoencoderKL vae(models::AutoencoderKLConfig::from_json(configs.vae, "starter vae config"));
  if (o.vae_from.empty()) {
    const auto vae_losses = train_vae(vae, o, rng, generator, log, observer, cancel);
    std::tie(result.vae_first_loss, result.vae_last_loss) = first_and_last(vae_losses);
  } else {
    load_vae(vae, o.vae_from);
  }
  // The denoiser learns the latents of the VAE as it is shipped, in the written precision.
  round_weights(*vae, dtype);

  // Stage 2 draws its pictures and noise from streams of its own, so it can start from a
  // VAE trained earlier (vae_from) and still give what the whole run gives.
  std::mt19937_64 pool_rng(o.seed + 2);
  generator = at::detail::createCPUGenerator(o.seed + 3);
  const LatentPool pool = encode_pool(vae, tokenizer, o, pool_rng, cancel);
  // As for Stable Diffusion's VAE: latents scaled to unit variance for the denoiser.
  result.scaling_factor = 1.0 / pool.mean.std().item<double>();
  configs.vae["scaling_factor"] = result.scaling_factor;
  write_json(configs.vae, partial.filePath("vae/config.json"));
  write_module_weights(*vae, partial.filePath("vae/diffusion_pytorch_model.safetensors").toStdString(), dtype);

  torch::manual_seed(o.seed + 4);
  models::CLIPTextModel text_encoder(models::CLIPTextConfig::from_json(configs.text_encoder, "starter text encoder config"));
  models::UNet2DConditionModel unet(models::UNet2DConditionConfig::from_json(configs.unet, "starter unet config"));
  const auto empty_ids = tokenize_captions(tokenizer, {""});
  const auto unet_losses = train_denoiser(text_encoder, unet, pool, result.scaling_factor, empty_ids, alphas_cumprod, o,
                                          generator, log, observer, cancel);
  std::tie(result.unet_first_loss, result.unet_last_loss) = first_and_last(unet_losses);
  throw_if_cancelled(cancel);

  write_json(configs.text_encoder, partial.filePath("text_encoder/config.json"));
  write_module_weights(*text_encoder, partial.filePath("text_encoder/model.safetensors").toStdString(), dtype);
  write_json(configs.unet, partial.filePath("unet/config.json"));
  write_module_weights(*unet, partial.filePath("unet/diffusion_pytorch_model.safetensors").toStdString(), dtype);

  if (out.exists()) QDir().rmdir(out.path());
  if (!QDir().rename(partial.path(), out.path()))
    throw Error("cannot move the finished model into '" + o.out_dir + "'");
  cleanup.keep = true;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace latent::training
