// Reference: AUTOMATIC1111 stable-diffusion-webui modules/sd_hijack_clip.py
// (FrozenCLIPEmbedderWithCustomWordsBase.forward and process_tokens,
// FrozenCLIPEmbedderForSDXLWithCustomWords), modules/sd_hijack_open_clip.py
// (FrozenOpenCLIPEmbedder2WithCustomWords) and modules/sd_models_xl.py
// (get_learned_conditioning).
//
// The web UI gives SDXL's conditioner two embedders, one per text encoder. Each reads the
// whole prompt with its own tokenizer (tokenize_line), encodes it chunk by chunk with the
// weights applied to its own output (process_tokens), and returns its chunks side by side
// (torch.hstack); sgm's GeneralConditioner then joins the two along the features, and takes
// the pooled vector of the OpenCLIP embedder's first chunk (zs[0].pooled).
//
// Where this departs from the web UI, it does so to agree with diffusers' reading
// (sdxl_conditioning.cpp), so that a plain prompt gives the same tensors either way:
//  * text_encoder_2 reads with diffusers' tokenizer_2, which pads with id 0 after the end
//    token as the web UI's OpenCLIP embedder does (id_pad = 0), but also reads every "!" as
//    that id, where the web UI's open_clip tokenizer reads it as ordinary text;
//  * clip skip applies to both encoders as diffusers counts it (hidden_states[-(k + 2)]),
//    and the negative prompt is read at the penultimate layer whatever the clip skip;
//  * prompt_2 / negative_prompt_2 go to text_encoder_2 when given;
//  * the two encoders, and the prompt and negative prompt, are padded with empty chunks to
//    one chunk count, so that everything can be joined and batched.
#include "core/pipeline/sdxl_prompt_encoder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"
#include "core/pipeline/textual_inversion.h"
#include "core/text/prompt_chunks.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// The web UI's EmbeddingsWithFixes puts vec[textual_inversion_key] into each embedder:
// clip_l into text_encoder, clip_g into text_encoder_2 (the refiner's only encoder).
EmbeddingPart embedding_part(const TextEncoder& encoder) {
  return encoder.name == "text_encoder_2" ? EmbeddingPart::clip_g : EmbeddingPart::clip_l;
}

// The texts one encoder reads, paired as diffusers pairs them: text_encoder reads `first`,
// text_encoder_2 reads `second` when it is given.
const std::vector<std::string>& texts_for(const TextEncoder& encoder,
                                          const std::vector<std::string>& first,
                                          const std::vector<std::string>& second) {
  return encoder.name == "text_encoder_2" && !second.empty() ? second : first;
}

// One side's texts (the prompts, or the negative prompts) as every text encoder reads them.
struct Reading {
  std::vector<std::vector<text::ChunkedPrompt>> by_encoder;  // [encoder][prompt]
  std::size_t chunks = 1;  // the most chunks any prompt takes on any encoder
};

Reading read_texts(const ModelBundle& model, const std::vector<std::string>& first,
                   const std::vector<std::string>& second, const EmbeddingLibrary& library) {
  if (!second.empty() && second.size() != first.size())
    throw Error("give one second prompt per prompt (" + std::to_string(first.size()) +
                " prompts, " + std::to_string(second.size()) + " second prompts)");
  Reading reading;
  for (const auto& encoder : model.text_encoders) {
    std::vector<text::EmbeddingToken> tokens;
    if (!library.empty())
      tokens = library.tokens(*encoder.tokenizer, embedding_part(encoder),
                              encoder.model->config().hidden_size);
    auto& prompts = reading.by_encoder.emplace_back();
    for (const auto& text : texts_for(encoder, first, second)) {
      prompts.push_back(text::chunk_prompt(*encoder.tokenizer, text, tokens));
      reading.chunks = std::max(reading.chunks, prompts.back().chunks.size());
    }
  }
  return reading;
}

struct Encoded {
  torch::Tensor context;  // [N, 77·k, ΣD] float32
  torch::Tensor pooled;   // [N, P] float32
};

// Every encoder's chunks, `chunks` of them (empty ones after a prompt's own), joined along
// the tokens; the encoders joined along the features; the pooled vector from the first
// chunk of the first encoder with a projection.
Encoded encode_reading(ModelBundle& model, const Reading& reading, int clip_skip,
                       const EmbeddingLibrary& library, std::size_t chunks) {
  std::vector<torch::Tensor> states;
  torch::Tensor pooled;
  for (std::size_t e = 0; e < model.text_encoders.size(); ++e) {
    auto& encoder = model.text_encoders[e];
    const bool pools = !pooled.defined() && encoder.model->has_projection();
    // The web UI's empty_chunk, padded after the end token with this tokenizer's pad id.
    const auto empty = text::empty_chunk(*encoder.tokenizer);
    std::vector<torch::Tensor> outputs;
    for (std::size_t c = 0; c < chunks; ++c) {
      std::vector<const text::PromptChunk*> batch;
      for (const auto& prompt : reading.by_encoder[e])
        batch.push_back(c < prompt.chunks.size() ? &prompt.chunks[c] : &empty);
      const auto options = models::CLIPEncodeOptions::sdxl(clip_skip, pools && c == 0);
      auto out = encode_chunk_batch(encoder.model, model.device, batch, options, library,
                                    embedding_part(encoder));
      if (pools && c == 0) pooled = out.pooled;  // [N, P]
      outputs.push_back(out.hidden);             // [N, 77, D]
    }
    states.push_back(outputs.size() == 1 ? outputs.front() : torch::cat(outputs, 1));
  }
  if (!pooled.defined())
    throw Error(
        "this SDXL model has no text encoder with a projection (text_encoder_2 must be a "
        "CLIPTextModelWithProjection)");
  return {torch::cat(states, -1), pooled};
}

// sd_models_xl.py get_learned_conditioning: force_zero_negative_prompt = is_negative_prompt
// and all(x == '' for x in batch); sgm's GeneralConditioner then zeros everything the text
// embedders return, the context and the pooled vector alike (not the time ids).
bool all_empty(const std::vector<std::string>& texts) {
  return std::all_of(texts.begin(), texts.end(), [](const std::string& t) { return t.empty(); });
}

void check_chunk_count(std::size_t chunks) {
  if (chunks > static_cast<std::size_t>(kMaxPromptChunks))
    throw Error("the prompt takes " + std::to_string(chunks) + " chunks of 75 tokens; at most " +
                std::to_string(kMaxPromptChunks) + " are accepted");
}

}  // namespace

GuidedConditioning encode_sdxl_weighted_conditioning(ModelBundle& model, const SamplingParams& p,
                                                     TimeIdsLayout layout) {
  // Not InferenceMode: callers outside it get ordinary tensors they can use anywhere.
  torch::NoGradGuard no_grad;
  if (p.prompts.empty()) throw Error("no prompt given");
  const auto library = EmbeddingLibrary::from_folder(p.embeddings_dir);
  const Reading cond = read_texts(model, p.prompts, p.prompts_2, library);
  std::size_t chunks = cond.chunks;

  const bool guided = p.guided();
  std::vector<std::string> negatives = p.negative_prompts;
  negatives.resize(p.prompts.size());
  const bool zero_negative = all_empty(negatives) && all_empty(p.negative_prompts_2);
  Reading uncond;
  if (guided && !zero_negative) {
    try {
      uncond = read_texts(model, negatives, p.negative_prompts_2, library);
    } catch (const Error& error) {
      throw Error(std::string("negative prompt: ") + error.what());
    }
    chunks = std::max(chunks, uncond.chunks);
  }
  check_chunk_count(chunks);

  const int64_t repeats = p.images_per_prompt;
  GuidedConditioning out;
  out.guidance = {p.guidance_scale, p.guidance_rescale};
  const auto positive = encode_reading(model, cond, p.clip_skip, library, chunks);
  out.cond.context = positive.context.repeat_interleave(repeats, 0);
  out.cond.pooled = positive.pooled.repeat_interleave(repeats, 0);
  if (guided) {
    if (zero_negative) {
      out.uncond.context = torch::zeros_like(out.cond.context);
      out.uncond.pooled = torch::zeros_like(out.cond.pooled);
    } else {
      // As diffusers (and the plain syntax) does: the penultimate layer, whatever the clip skip.
      const auto negative = encode_reading(model, uncond, 0, library, chunks);
      out.uncond.context = negative.context.repeat_interleave(repeats, 0);
      out.uncond.pooled = negative.pooled.repeat_interleave(repeats, 0);
    }
  }
  set_sdxl_time_ids(out, model, p, layout);
  return out;
}

}  // namespace latent::pipeline
