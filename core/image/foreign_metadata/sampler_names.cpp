#include "core/image/foreign_metadata/sampler_names.h"

#include <utility>

namespace latent::image {
namespace {

// A sampler of ours and, where we have it, its Karras-schedule twin.
struct OurSampler {
  const char* plain;
  const char* karras;  // nullptr: we have no Karras variant
};

constexpr OurSampler kEuler{"euler", "euler_karras"};
constexpr OurSampler kEulerA{"euler_a", nullptr};
constexpr OurSampler kLms{"lms", "lms_karras"};
constexpr OurSampler kHeun{"heun", nullptr};
constexpr OurSampler kDpm2{"kdpm2", nullptr};
constexpr OurSampler kDpm2A{"kdpm2_a", nullptr};
constexpr OurSampler kDpmpp2m{"dpmpp_2m", "dpmpp_2m_karras"};
constexpr OurSampler kDpmpp2mSde{"dpmpp_2m_sde", nullptr};
constexpr OurSampler kDpmppSde{"dpmpp_sde", nullptr};
constexpr OurSampler kDdim{"ddim", nullptr};
constexpr OurSampler kPndm{"pndm", nullptr};
constexpr OurSampler kUnipc{"unipc", nullptr};
constexpr OurSampler kLcm{"lcm", nullptr};
constexpr OurSampler kTcd{"tcd", nullptr};

const OurSampler* find(const std::string& name, std::initializer_list<std::pair<const char*, const OurSampler*>> table) {
  for (const auto& [theirs, ours] : table)
    if (name == theirs) return ours;
  return nullptr;
}

// `sampler` under a schedule: "" / plain ones keep it, "karras" takes the twin when we have it.
ForeignSampler pick(const OurSampler* sampler, const std::string& schedule, bool karras) {
  ForeignSampler out;
  if (sampler == nullptr) return out;
  out.sampler = sampler->plain;
  if (karras && sampler->karras != nullptr)
    out.sampler = sampler->karras;
  else if (karras)
    out.lost_schedule = schedule;
  return out;
}

}  // namespace

ForeignSampler sampler_from_comfyui(const std::string& sampler, const std::string& scheduler) {
  // comfy/samplers.py KSAMPLER_NAMES; the "_gpu" variants differ only in where noise is drawn.
  const OurSampler* ours = find(sampler, {{"euler", &kEuler},
                                          {"euler_ancestral", &kEulerA},
                                          {"lms", &kLms},
                                          {"heun", &kHeun},
                                          {"dpm_2", &kDpm2},
                                          {"dpm_2_ancestral", &kDpm2A},
                                          {"dpmpp_2m", &kDpmpp2m},
                                          {"dpmpp_2m_sde", &kDpmpp2mSde},
                                          {"dpmpp_2m_sde_gpu", &kDpmpp2mSde},
                                          {"dpmpp_sde", &kDpmppSde},
                                          {"dpmpp_sde_gpu", &kDpmppSde},
                                          {"ddim", &kDdim},
                                          {"uni_pc", &kUnipc},
                                          {"lcm", &kLcm}});
  if (scheduler == "karras") return pick(ours, scheduler, true);
  ForeignSampler out = pick(ours, scheduler, false);
  if (out.sampler.empty()) return out;
  // "normal" spaces the steps evenly over the model's timesteps, as diffusers does by
  // default; sgm_uniform is the trailing spacing that distilled SDXL models ask for.
  if (scheduler == "sgm_uniform")
    out.trailing = true;
  else if (!scheduler.empty() && scheduler != "normal")
    out.lost_schedule = scheduler;
  return out;
}

ForeignSampler sampler_from_invokeai(const std::string& scheduler) {
  // invokeai/backend/stable_diffusion/schedulers: "_k" names take the Karras sigmas.
  const bool karras = scheduler.size() > 2 && scheduler.compare(scheduler.size() - 2, 2, "_k") == 0;
  const std::string name = karras ? scheduler.substr(0, scheduler.size() - 2) : scheduler;
  const OurSampler* ours = find(name, {{"euler", &kEuler},
                                       {"euler_a", &kEulerA},
                                       {"lms", &kLms},
                                       {"heun", &kHeun},
                                       {"kdpm_2", &kDpm2},
                                       {"kdpm_2_a", &kDpm2A},
                                       {"dpmpp_2m", &kDpmpp2m},
                                       {"dpmpp_2m_sde", &kDpmpp2mSde},
                                       {"dpmpp_sde", &kDpmppSde},
                                       {"ddim", &kDdim},
                                       {"pndm", &kPndm},
                                       {"unipc", &kUnipc},
                                       {"lcm", &kLcm},
                                       {"tcd", &kTcd}});
  return pick(ours, "karras", karras);
}

ForeignSampler sampler_from_novelai(const std::string& sampler, const std::string& noise_schedule) {
  // NovelAI's image API names; InvokeAI 2.x used the same k_ names.
  const OurSampler* ours = find(sampler, {{"k_euler", &kEuler},
                                          {"k_euler_ancestral", &kEulerA},
                                          {"k_euler_a", &kEulerA},
                                          {"k_lms", &kLms},
                                          {"k_heun", &kHeun},
                                          {"k_dpm_2", &kDpm2},
                                          {"k_dpm_2_ancestral", &kDpm2A},
                                          {"k_dpm_2_a", &kDpm2A},
                                          {"k_dpmpp_2m", &kDpmpp2m},
                                          {"k_dpmpp_sde", &kDpmppSde},
                                          {"ddim", &kDdim},
                                          {"ddim_v3", &kDdim},
                                          {"plms", &kPndm}});
  if (noise_schedule == "karras") return pick(ours, noise_schedule, true);
  ForeignSampler out = pick(ours, noise_schedule, false);
  if (!out.sampler.empty() && !noise_schedule.empty() && noise_schedule != "native") out.lost_schedule = noise_schedule;
  return out;
}

}  // namespace latent::image
