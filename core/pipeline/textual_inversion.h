#pragma once

// Textual-inversion embeddings: files of learned token vectors, used by writing the
// file's name in a prompt. Reads the safetensors layouts in circulation: `emb_params`
// (the web UI and kohya), `string_to_param.*` (the web UI's own format, flattened), and a
// file with one tensor (diffusers' learned_embeds). Pickled .pt/.bin files are refused.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/textual_inversion/textual_inversion.py.

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/text/prompt_chunks.h"

namespace latent::pipeline {

struct EmbeddingFile {
  std::string name;  // the file name without extension: what a prompt writes
  std::string path;
  int vectors = 0;    // tokens it takes (0 when unusable)
  int64_t width = 0;  // the size of each vector (768 for SD 1.x)
  std::string error;  // why it cannot be used; empty when it can
};

// Reads the vectors of an embedding file: [vectors, width] float32 on the CPU. Throws
// latent::Error naming the file: pickles with the same explanation as pickled checkpoints,
// files of an unknown layout, more than one term, or an unusable shape.
torch::Tensor read_embedding_file(const std::string& path);

// A folder of embeddings. Files are listed at construction; their vectors are read when
// a prompt uses them.
class EmbeddingLibrary {
 public:
  EmbeddingLibrary() = default;

  // Every .safetensors file in `dir` and its subfolders, and the pickles (.pt .bin .ckpt
  // .pth), which are listed so that naming one gives the refusal. Throws latent::Error when
  // the folder does not exist. An empty `dir` gives an empty library.
  static EmbeddingLibrary from_folder(const std::string& dir);

  // Adds one file (its problems are recorded, not thrown). A name already present is
  // kept, as the web UI keeps the first one it finds.
  void add_file(const std::string& path);

  const std::vector<EmbeddingFile>& files() const { return files_; }
  bool empty() const { return files_.empty(); }

  // The names as the chunker matches them. Files whose vectors are not `width` wide
  // (when width > 0) are marked unusable with a message saying so.
  std::vector<text::EmbeddingToken> tokens(const text::ClipTokenizer& tokenizer,
                                           int64_t width = 0) const;

  // The vectors of files()[index]: [vectors, width] float32. Throws the file's error.
  torch::Tensor vectors(std::size_t index) const;

 private:
  std::vector<EmbeddingFile> files_;
  std::map<std::string, std::size_t> by_name_;
  mutable std::map<std::size_t, torch::Tensor> cache_;
};

}  // namespace latent::pipeline
