#pragma once

// `AND` composition, read as AUTOMATIC1111's web UI reads it (modules/prompt_parser.py,
// get_multicond_prompt_list with re_AND and re_weight): the prompt is split at every `AND`
// that stands as a word, and each part may end in `:WEIGHT` ("a cat AND a dog :1.2"). Each
// part is conditioned on its own and the guided prediction becomes
// uncond + Σ weightᵢ · scale · (condᵢ − uncond) (Liu et al., "Compositional Visual Generation
// with Composable Diffusion Models"). As in the web UI, a prompt without `AND` is one part,
// and a trailing `:WEIGHT` weighs it too. Negative prompts are not split. Torch-free.

#include <string>
#include <vector>

namespace latent::text {

struct SubPrompt {
  std::string text;  // trailing whitespace and the `:WEIGHT` removed
  double weight = 1.0;

  bool operator==(const SubPrompt& other) const { return text == other.text && weight == other.weight; }
};

// The parts of `prompt` in order (at least one; an empty part is the empty prompt). Throws
// latent::Error for a weight that is not finite or beyond ±kMaxPromptWeight, naming it.
std::vector<SubPrompt> split_composable_prompt(const std::string& prompt);

}  // namespace latent::text
