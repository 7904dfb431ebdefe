#include "core/schedulers/scheduler.h"

#include <QJsonArray>
#include <QJsonValue>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/scheduler_ddim.h"
#include "core/schedulers/scheduler_dpmpp_2m.h"
#include "core/schedulers/scheduler_dpmpp_sde.h"
#include "core/schedulers/scheduler_euler.h"
#include "core/schedulers/scheduler_euler_ancestral.h"
#include "core/schedulers/scheduler_heun.h"
#include "core/schedulers/scheduler_kdpm2.h"
#include "core/schedulers/scheduler_kdpm2_ancestral.h"
#include "core/schedulers/scheduler_lcm.h"
#include "core/schedulers/scheduler_lms.h"
#include "core/schedulers/scheduler_pndm.h"
#include "core/schedulers/scheduler_tcd.h"
#include "core/schedulers/scheduler_unipc.h"
#include "core/util/error.h"

namespace latent::schedulers {
namespace {

[[noreturn]] void bad_key(const QString& key, const char* expected) {
  throw Error("scheduler config: \"" + key.toStdString() + "\" should be " + expected);
}

double number_of(const QJsonObject& json, const QString& key, double fallback) {
  const QJsonValue v = json.value(key);
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isDouble()) bad_key(key, "a number");
  return v.toDouble();
}

int integer_of(const QJsonObject& json, const QString& key, int fallback) {
  const double v = number_of(json, key, fallback);
  if (v != std::floor(v) || std::abs(v) > 1e9) bad_key(key, "an integer");
  return static_cast<int>(v);
}

bool bool_of(const QJsonObject& json, const QString& key, bool fallback) {
  const QJsonValue v = json.value(key);
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isBool()) bad_key(key, "true or false");
  return v.toBool();
}

std::string string_of(const QJsonObject& json, const QString& key, const std::string& fallback) {
  const QJsonValue v = json.value(key);
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isString()) bad_key(key, "a string");
  return v.toString().toStdString();
}

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  return std::any_of(choices.begin(), choices.end(), [&](const char* c) { return value == c; });
}

using Factory = std::function<std::unique_ptr<Scheduler>(const SchedulerConfig&)>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"lms", [](const SchedulerConfig& c) { return make_lms(c, false); }},
      {"lms_karras", [](const SchedulerConfig& c) { return make_lms(c, true); }},
      {"pndm", [](const SchedulerConfig& c) { return make_pndm(c); }},
      {"ddim", [](const SchedulerConfig& c) { return make_ddim(c); }},
      {"euler", [](const SchedulerConfig& c) { return make_euler(c, false); }},
      {"euler_karras", [](const SchedulerConfig& c) { return make_euler(c, true); }},
      {"euler_a", [](const SchedulerConfig& c) { return make_euler_ancestral(c); }},
      {"heun", [](const SchedulerConfig& c) { return make_heun(c); }},
      {"dpmpp_2m", [](const SchedulerConfig& c) { return make_dpmpp_2m(c, DpmVariant::plain); }},
      {"dpmpp_2m_karras", [](const SchedulerConfig& c) { return make_dpmpp_2m(c, DpmVariant::karras); }},
      {"dpmpp_2m_sde", [](const SchedulerConfig& c) { return make_dpmpp_2m(c, DpmVariant::sde); }},
      {"dpmpp_sde", [](const SchedulerConfig& c) { return make_dpmpp_sde(c); }},
      {"kdpm2", [](const SchedulerConfig& c) { return make_kdpm2(c); }},
      {"kdpm2_a", [](const SchedulerConfig& c) { return make_kdpm2_ancestral(c); }},
      {"unipc", [](const SchedulerConfig& c) { return make_unipc(c); }},
      {"lcm", [](const SchedulerConfig& c) { return make_lcm(c); }},
      {"tcd", [](const SchedulerConfig& c) { return make_tcd(c); }},
  };
  return table;
}

}  // namespace

// --- SchedulerConfig ---

SchedulerConfig SchedulerConfig::from_json(const QJsonObject& json) {
  SchedulerConfig c;
  c.num_train_timesteps = integer_of(json, "num_train_timesteps", c.num_train_timesteps);
  c.beta_start = number_of(json, "beta_start", c.beta_start);
  c.beta_end = number_of(json, "beta_end", c.beta_end);
  c.beta_schedule = string_of(json, "beta_schedule", c.beta_schedule);
  const QJsonValue trained = json.value("trained_betas");
  if (!trained.isUndefined() && !trained.isNull()) {
    if (!trained.isArray()) bad_key("trained_betas", "null or an array of numbers");
    for (const QJsonValue& v : trained.toArray()) {
      if (!v.isDouble()) bad_key("trained_betas", "null or an array of numbers");
      c.trained_betas.push_back(v.toDouble());
    }
  }
  c.steps_offset = integer_of(json, "steps_offset", c.steps_offset);
  c.set_alpha_to_one = bool_of(json, "set_alpha_to_one", c.set_alpha_to_one);
  c.skip_prk_steps = bool_of(json, "skip_prk_steps", c.skip_prk_steps);
  c.clip_sample = bool_of(json, "clip_sample", c.clip_sample);
  c.clip_sample_range = number_of(json, "clip_sample_range", c.clip_sample_range);
  c.prediction_type = string_of(json, "prediction_type", c.prediction_type);
  c.timestep_spacing = string_of(json, "timestep_spacing", c.timestep_spacing);
  c.original_inference_steps = integer_of(json, "original_inference_steps", c.original_inference_steps);
  c.timestep_scaling = number_of(json, "timestep_scaling", c.timestep_scaling);
  c.class_name = string_of(json, "_class_name", c.class_name);
  const QJsonValue seed = json.value("noise_sampler_seed");
  if (!seed.isUndefined() && !seed.isNull()) {
    const double v = seed.toDouble(-1);
    if (!seed.isDouble() || v < 0 || v != std::floor(v) || v > 9007199254740992.0)
      bad_key("noise_sampler_seed", "null or a non-negative integer");
    c.noise_sampler_seed = static_cast<uint64_t>(v);
  }
  c.rescale_betas_zero_snr = bool_of(json, "rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  if (bool_of(json, "thresholding", false))
    throw Error("scheduler config: thresholding is not supported (it is meant for pixel-space "
                "models, not Stable Diffusion)");
  c.validate();
  return c;
}

void SchedulerConfig::validate() const {
  if (num_train_timesteps < 2 || num_train_timesteps > 100000)
    throw Error("scheduler config: num_train_timesteps " + std::to_string(num_train_timesteps) +
                " should be between 2 and 100000");
  if (!trained_betas.empty()) {
    if (static_cast<int>(trained_betas.size()) != num_train_timesteps)
      throw Error("scheduler config: trained_betas has " + std::to_string(trained_betas.size()) +
                  " values, expected num_train_timesteps = " + std::to_string(num_train_timesteps));
    for (const double b : trained_betas)
      if (!(b > 0 && b < 1))
        throw Error("scheduler config: trained_betas holds " + std::to_string(b) +
                    ", expected values between 0 and 1");
  } else {
    if (!one_of(beta_schedule, {"scaled_linear", "linear", "squaredcos_cap_v2"}))
      throw Error("scheduler config: beta_schedule \"" + beta_schedule +
                  "\" is not one of scaled_linear, linear, squaredcos_cap_v2");
    if (beta_schedule != "squaredcos_cap_v2" &&
        !(beta_start > 0 && beta_start < 1 && beta_end > 0 && beta_end < 1))
      throw Error("scheduler config: beta_start " + std::to_string(beta_start) + " and beta_end " +
                  std::to_string(beta_end) + " should lie between 0 and 1");
  }
  if (!one_of(prediction_type, {"epsilon", "v_prediction"}))
    throw Error("scheduler config: prediction_type \"" + prediction_type +
                "\" is not supported (use epsilon or v_prediction)");
  if (!timestep_spacing.empty() && !one_of(timestep_spacing, {"linspace", "leading", "trailing"}))
    throw Error("scheduler config: timestep_spacing \"" + timestep_spacing +
                "\" is not one of linspace, leading, trailing");
  if (steps_offset < 0 || steps_offset >= num_train_timesteps)
    throw Error("scheduler config: steps_offset " + std::to_string(steps_offset) +
                " should be between 0 and num_train_timesteps − 1");
  if (!std::isfinite(eta) || eta < 0)
    throw Error("DDIM eta " + std::to_string(eta) + " should be a number of at least 0");
  if (original_inference_steps < 1 || original_inference_steps > num_train_timesteps)
    throw Error("scheduler config: original_inference_steps " + std::to_string(original_inference_steps) +
                " should be between 1 and num_train_timesteps");
  if (!std::isfinite(timestep_scaling) || timestep_scaling <= 0)
    throw Error("scheduler config: timestep_scaling should be a positive number");
  if (!(clip_sample_range > 0))
    throw Error("scheduler config: clip_sample_range should be positive");
}

// --- Scheduler ---

Scheduler::Scheduler(std::string name, SchedulerConfig config, TerminalAlpha terminal_alpha)
    : name_(std::move(name)), config_(std::move(config)) {
  config_.validate();
  betas_ = make_betas(config_);
  alphas_cumprod_ = make_alphas_cumprod(betas_);
  if (config_.rescale_betas_zero_snr && terminal_alpha == TerminalAlpha::finite)
    alphas_cumprod_[-1] = std::ldexp(1.0f, -24);
  alphas_cumprod_values_ = to_floats(alphas_cumprod_);
}

double Scheduler::timestep(int call_index) const {
  require_timesteps(call_index);
  return timesteps_[call_index].item<double>();
}

torch::Tensor Scheduler::scale_model_input(const torch::Tensor& sample, int call_index) {
  require_timesteps(call_index);
  return sample;
}

int Scheduler::begin_index_for_strength(double strength) const {
  if (!(strength >= 0 && strength <= 1))
    throw Error("strength " + std::to_string(strength) + " is out of range: use 0 to 1");
  if (!timesteps_.defined()) throw Error(name_ + ": set_timesteps must come before the strength");
  const int n = num_inference_steps_;
  const int init = std::min(static_cast<int>(n * strength), n);
  const int t_start = std::max(n - init, 0);
  return std::min(t_start * order(), num_calls());
}

void Scheduler::set_begin_index(int call_index) {
  if (call_index < 0 || call_index > num_calls())
    throw Error(name_ + ": begin index " + std::to_string(call_index) + " is outside 0.." +
                std::to_string(num_calls()));
  begin_index_ = call_index;
}

void Scheduler::require_timesteps(int call_index) const {
  if (!timesteps_.defined()) throw Error(name_ + ": set_timesteps must be called before stepping");
  if (call_index < 0 || call_index >= num_calls())
    throw Error(name_ + ": call " + std::to_string(call_index) + " is outside the schedule of " +
                std::to_string(num_calls()) + " calls");
}

void Scheduler::set_sigmas(const torch::Tensor& sigmas) {
  sigmas_ = sigmas;
  sigma_values_ = to_floats(sigmas);
}

float Scheduler::alpha_cumprod_at(int64_t timestep) const {
  if (timestep < 0 || timestep >= static_cast<int64_t>(alphas_cumprod_values_.size()))
    throw Error(name_ + ": timestep " + std::to_string(timestep) + " is outside the training schedule");
  return alphas_cumprod_values_[static_cast<size_t>(timestep)];
}

void Scheduler::check_steps(int num_inference_steps) {
  if (num_inference_steps < 1 || num_inference_steps > 10000)
    throw Error("steps " + std::to_string(num_inference_steps) + " is out of range: use 1 to 10000");
}

torch::Tensor Scheduler::add_noise_ddpm(const torch::Tensor& original, const torch::Tensor& noise,
                                        int64_t timestep) const {
  const float a = alpha_cumprod_at(timestep);
  return std::sqrt(a) * original + std::sqrt(1.0f - a) * noise;
}

// --- The registry ---

std::vector<std::string> scheduler_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerConfig& config) {
  for (const auto& entry : registry())
    if (entry.first == name) return entry.second(config);
  std::string valid;
  for (const auto& entry : registry()) valid += (valid.empty() ? "" : ", ") + entry.first;
  throw Error("unknown sampler \"" + name + "\": valid names are " + valid);
}

}  // namespace latent::schedulers
