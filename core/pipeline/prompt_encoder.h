#pragma once

// Prompts read in the web UI's language and encoded as the web UI and stable-diffusion.cpp
// do: each 75-token chunk goes through the text encoder with its own start and end tokens,
// each token's output is scaled by its weight, the chunk is rescaled so that its mean
// equals the unweighted mean, and the chunks are joined along the token axis.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/sd_hijack_clip.py and
// modules/sd_emphasis.py (EmphasisOriginal).

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/textual_inversion.h"
#include "core/text/prompt_chunks.h"

namespace latent::pipeline {

// The most chunks a prompt (or negative prompt) may take: 7,500 tokens.
constexpr int kMaxPromptChunks = 100;

// One chunk of each prompt of a batch through one text encoder, as the web UI's
// process_tokens does it: each textual-inversion embedding's vectors (the `part` this
// encoder reads) put in its slots, the hidden state `options` chooses, then each token's
// output scaled by its weight and the row rescaled to its unweighted mean (EmphasisOriginal;
// the mean of each prompt's row, which is the web UI's batch mean for the one prompt it
// usually encodes at a time). The pooled vector, when asked for, is read before the weights,
// as the web UI's is. hidden [N, 77, D] and pooled in float32 on `device`.
models::CLIPTextEncoding encode_chunk_batch(models::CLIPTextModel& encoder, torch::Device device,
                                            const std::vector<const text::PromptChunk*>& batch,
                                            const models::CLIPEncodeOptions& options,
                                            const EmbeddingLibrary& embeddings = {},
                                            EmbeddingPart part = EmbeddingPart::single);

// Reads a prompt with the model's tokenizer and the library's embeddings.
text::ChunkedPrompt read_prompt(const ModelBundle& model, const std::string& prompt,
                                const EmbeddingLibrary& embeddings = {});

// Encodes chunked prompts, each padded with empty chunks to `chunks` (at least the most
// any of them has): [N, 77·chunks, D] float32 on the model's device. With every weight 1,
// no embedding and one chunk this equals encode_prompts() of the same texts bit for bit.
torch::Tensor encode_chunked_prompts(ModelBundle& model,
                                     const std::vector<text::ChunkedPrompt>& prompts, int clip_skip,
                                     const EmbeddingLibrary& embeddings = {}, int chunks = 0);

struct WeightedPromptOptions {
  int clip_skip = 0;
  // diffusers encodes the negative prompt without clip skip; the plain path keeps that,
  // and so does this one, so that both agree for prompts without emphasis.
  int negative_clip_skip = 0;
  std::string embeddings_dir;  // textual-inversion files; empty = none
};

struct WeightedPromptEmbeddings {
  torch::Tensor cond;    // [N, 77·k, D] float32
  torch::Tensor uncond;  // [N, 77·k, D] float32; undefined when no negatives were asked for
  int chunks = 1;        // k, the same for both
};

// The prompts and (when `negatives` is given, one per prompt) negative prompts of one run,
// padded to one chunk count. Throws latent::Error for prompts the parser refuses, unusable
// embeddings and prompts over kMaxPromptChunks chunks.
WeightedPromptEmbeddings encode_weighted_prompts(ModelBundle& model,
                                                 const std::vector<std::string>& prompts,
                                                 const std::vector<std::string>* negatives,
                                                 const WeightedPromptOptions& options = {});

}  // namespace latent::pipeline
