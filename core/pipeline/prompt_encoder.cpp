// Reference: AUTOMATIC1111 stable-diffusion-webui modules/sd_hijack_clip.py (process_tokens)
// and modules/sd_emphasis.py (EmphasisOriginal.after_transformers).
#include "core/pipeline/prompt_encoder.h"

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace latent::pipeline {
namespace {

bool all_ones(const std::vector<double>& weights) {
  return std::all_of(weights.begin(), weights.end(), [](double w) { return w == 1.0; });
}

std::vector<text::EmbeddingToken> embedding_tokens(const ModelBundle& model,
                                                   const EmbeddingLibrary& embeddings) {
  if (embeddings.empty()) return {};
  return embeddings.tokens(model.tokenizer(), EmbeddingPart::single,
                           model.text_encoder()->config().hidden_size);
}

// Scales each token's output by its weight, then the whole chunk so its mean is unchanged.
void apply_weights(torch::Tensor z, const std::vector<double>& weights) {  // z [L, D]
  const auto w = torch::tensor(std::vector<float>(weights.begin(), weights.end()),
                               torch::dtype(torch::kFloat32))
                     .to(z.device());  // [L]
  const auto original_mean = z.mean();
  auto weighted = z * w.unsqueeze(-1);  // [L, D]
  const auto ratio = original_mean / weighted.mean();
  // A weighted mean of exactly zero (weights of both signs cancelling) has no scale to restore.
  if (std::isfinite(ratio.item<double>())) weighted = weighted * ratio;
  z.copy_(weighted);
}

// The token embeddings of the batch's ids [N, 77] with every embedding's vectors in its
// slots: [N, 77, D].
torch::Tensor embedded_tokens(models::CLIPTextModel& encoder, const torch::Tensor& input_ids,
                              const std::vector<const text::PromptChunk*>& batch,
                              const EmbeddingLibrary& embeddings, EmbeddingPart part) {
  auto tokens = encoder->token_embeddings(input_ids);  // [N, 77, D]
  const int64_t width = tokens.size(2);
  for (std::size_t n = 0; n < batch.size(); ++n) {
    for (const auto& use : batch[n]->embeddings) {
      const auto vectors = embeddings.vectors(use.embedding, part);  // [v, D]
      if (vectors.size(1) != width || vectors.size(0) != use.vectors)
        throw Error("the embedding '" + embeddings.files().at(use.embedding).path +
                    "' does not fit this model's text encoder (vectors of size " +
                    std::to_string(vectors.size(1)) + ", expected " + std::to_string(width) + ")");
      tokens[static_cast<int64_t>(n)]
          .narrow(0, use.position, use.vectors)
          .copy_(vectors.to(tokens.options()));
    }
  }
  return tokens;
}

}  // namespace

models::CLIPTextEncoding encode_chunk_batch(models::CLIPTextModel& encoder, torch::Device device,
                                            const std::vector<const text::PromptChunk*>& batch,
                                            const models::CLIPEncodeOptions& options,
                                            const EmbeddingLibrary& embeddings,
                                            EmbeddingPart part) {
  if (batch.empty()) throw Error("no prompt given");
  const auto length = batch.front()->ids.size();
  std::vector<torch::Tensor> rows;
  bool uses_embeddings = false;
  for (const auto* chunk : batch) {
    if (chunk->ids.size() != length)
      throw Error("prompt chunks of different lengths cannot be encoded together");
    rows.push_back(torch::tensor(chunk->ids, torch::kInt64));
    uses_embeddings = uses_embeddings || !chunk->embeddings.empty();
  }
  const auto input_ids = torch::stack(rows).to(device);  // [N, 77]

  auto out = uses_embeddings
                 ? encoder->encode_embeds(embedded_tokens(encoder, input_ids, batch, embeddings, part),
                                          input_ids, options)
                 : encoder->encode(input_ids, options);
  out.hidden = out.hidden.to(torch::kFloat32);  // [N, 77, D]
  if (out.pooled.defined()) out.pooled = out.pooled.to(torch::kFloat32);
  for (std::size_t n = 0; n < batch.size(); ++n)
    if (!all_ones(batch[n]->weights))
      apply_weights(out.hidden[static_cast<int64_t>(n)], batch[n]->weights);
  return out;
}

text::ChunkedPrompt read_prompt(const ModelBundle& model, const std::string& prompt,
                                const EmbeddingLibrary& embeddings) {
  return text::chunk_prompt(model.tokenizer(), prompt, embedding_tokens(model, embeddings));
}

torch::Tensor encode_chunked_prompts(ModelBundle& model,
                                     const std::vector<text::ChunkedPrompt>& prompts, int clip_skip,
                                     const EmbeddingLibrary& embeddings, int chunks) {
  // Not InferenceMode: callers outside it get ordinary tensors they can use anywhere.
  torch::NoGradGuard no_grad;
  if (prompts.empty()) throw Error("no prompt given");
  std::size_t k = static_cast<std::size_t>(std::max(chunks, 1));
  for (const auto& prompt : prompts) k = std::max(k, prompt.chunks.size());
  if (k > static_cast<std::size_t>(kMaxPromptChunks))
    throw Error("the prompt takes " + std::to_string(k) + " chunks of 75 tokens; at most " +
                std::to_string(kMaxPromptChunks) + " are accepted");

  const auto empty = text::empty_chunk(model.tokenizer());
  // Chunk by chunk over the batch, as the web UI does: with one chunk per prompt this is
  // the very batch the plain path encodes.
  std::vector<torch::Tensor> outputs;
  for (std::size_t c = 0; c < k; ++c) {
    std::vector<const text::PromptChunk*> batch;
    for (const auto& prompt : prompts)
      batch.push_back(c < prompt.chunks.size() ? &prompt.chunks[c] : &empty);
    const auto options = models::CLIPEncodeOptions::stable_diffusion(clip_skip);
    outputs.push_back(encode_chunk_batch(model.text_encoder(), model.device, batch, options,
                                         embeddings)
                          .hidden);  // [N, 77, D]
  }
  return outputs.size() == 1 ? outputs.front() : torch::cat(outputs, 1);  // [N, 77·k, D]
}

WeightedPromptEmbeddings encode_weighted_prompts(ModelBundle& model,
                                                 const std::vector<std::string>& prompts,
                                                 const std::vector<std::string>* negatives,
                                                 const WeightedPromptOptions& options) {
  if (prompts.empty()) throw Error("no prompt given");
  if (negatives && negatives->size() != prompts.size())
    throw Error("give one negative prompt per prompt (" + std::to_string(prompts.size()) +
                " prompts, " + std::to_string(negatives->size()) + " negative prompts)");
  const auto library = EmbeddingLibrary::from_folder(options.embeddings_dir);
  const auto tokens = embedding_tokens(model, library);

  std::vector<text::ChunkedPrompt> cond_prompts, uncond_prompts;
  std::size_t chunks = 1;
  for (const auto& prompt : prompts) {
    cond_prompts.push_back(text::chunk_prompt(model.tokenizer(), prompt, tokens));
    chunks = std::max(chunks, cond_prompts.back().chunks.size());
  }
  if (negatives) {
    for (const auto& negative : *negatives) {
      try {
        uncond_prompts.push_back(text::chunk_prompt(model.tokenizer(), negative, tokens));
      } catch (const Error& error) {
        throw Error(std::string("negative prompt: ") + error.what());
      }
      chunks = std::max(chunks, uncond_prompts.back().chunks.size());
    }
  }

  WeightedPromptEmbeddings out;
  out.chunks = static_cast<int>(std::min<std::size_t>(chunks, kMaxPromptChunks + 1));
  out.cond = encode_chunked_prompts(model, cond_prompts, options.clip_skip, library, out.chunks);
  if (negatives)
    out.uncond = encode_chunked_prompts(model, uncond_prompts, options.negative_clip_skip, library,
                                        out.chunks);
  return out;
}

}  // namespace latent::pipeline
