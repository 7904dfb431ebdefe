#include "core/pipeline/request_wildcards.h"

#include <random>

#include "core/text/wildcards.h"

namespace latent::pipeline {

api::GenerationRequest expand_request_wildcards(const api::GenerationRequest& request) {
  if (request.wildcards_dir.empty()) return request;
  api::GenerationRequest out = request;
  std::string* texts[] = {&out.prompt,    &out.negative_prompt,          &out.prompt_2,
                          &out.negative_prompt_2, &out.second_pass.prompt, &out.second_pass.negative_prompt};
  bool any = false;
  for (const std::string* text : texts) any = any || text::has_wildcards(*text);
  if (!any) return request;
  const auto source = text::wildcard_folder(request.wildcards_dir);
  std::mt19937_64 generator(request.sampling.seed);
  for (std::string* text : texts) *text = text::expand_wildcards(*text, source, generator);
  return out;
}

}  // namespace latent::pipeline
