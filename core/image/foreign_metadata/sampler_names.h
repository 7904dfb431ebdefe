#pragma once

// Other programs' names for samplers and their noise schedules, in ours (the names of
// latent::schedulers::scheduler_names()). Each program pairs a sampler with a schedule its
// own way: ComfyUI and Fooocus by two names ("dpmpp_2m" + "karras"), InvokeAI by a suffix
// ("dpmpp_2m_k"), NovelAI by a prefix and a separate noise schedule ("k_dpmpp_2m" +
// "karras"). Where we have the sampler but not the schedule, the sampler is kept and the
// schedule is reported as lost, as sampler_from_webui does for the web UI's names.

#include <string>

namespace latent::image {

struct ForeignSampler {
  std::string sampler;        // ours; empty when we have no such sampler
  std::string lost_schedule;  // the program's schedule name when ours cannot follow it
  bool trailing = false;      // ComfyUI's sgm_uniform: diffusers' "trailing" timestep spacing
};

ForeignSampler sampler_from_comfyui(const std::string& sampler, const std::string& scheduler);
ForeignSampler sampler_from_invokeai(const std::string& scheduler);
ForeignSampler sampler_from_novelai(const std::string& sampler, const std::string& noise_schedule);

}  // namespace latent::image
