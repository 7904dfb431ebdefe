#pragma once

// Textual-inversion embeddings: files of learned token vectors, used by writing the
// file's name in a prompt. Reads the safetensors layouts in circulation: `emb_params`
// (the web UI and kohya), `string_to_param.*` (the web UI's own format, flattened), and a
// file with one tensor (diffusers' learned_embeds), and SDXL's pair `clip_l` / `clip_g`.
// Pickled .pt/.bin files are refused.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/textual_inversion/textual_inversion.py.

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/text/prompt_chunks.h"

namespace latent::pipeline {

// Which of a file's sets of vectors a text encoder reads. Files for Stable Diffusion 1.x
// (and 2.x) hold one set. SDXL files, as the web UI and kohya save them, hold `clip_l` for
// text_encoder (CLIP ViT-L) and `clip_g` for text_encoder_2 (OpenCLIP ViT-bigG): the web
// UI's EmbeddingsWithFixes picks vec[textual_inversion_key] for each of its two embedders.
enum class EmbeddingPart { single, clip_l, clip_g };

struct EmbeddingFile {
  std::string name;  // the file name without extension: what a prompt writes
  std::string path;
  int vectors = 0;      // tokens it takes (0 when unusable)
  int64_t width = 0;    // the size of each vector (768 for SD 1.x; clip_l's for SDXL)
  int64_t width_g = 0;  // SDXL files: the size of each clip_g vector (1280); 0 otherwise
  std::string error;    // why it cannot be used; empty when it can

  bool is_sdxl() const { return width_g > 0; }
};

// Reads one set of vectors of an embedding file: [vectors, width] float32 on the CPU.
// Throws latent::Error naming the file: pickles with the same explanation as pickled
// checkpoints, files of an unknown layout, more than one term, an unusable shape, and a
// file of the other family (an SDXL pair asked for `single`, or the reverse).
torch::Tensor read_embedding_file(const std::string& path,
                                  EmbeddingPart part = EmbeddingPart::single);

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

  // The names as the chunker matches them, for the text encoder that reads `part` of each
  // file with vectors `width` wide (0 = any width). Files without that part (an SDXL pair
  // for `single`, a single set for clip_l or clip_g) and files of another width are marked
  // unusable with a message saying which model family they were made for.
  std::vector<text::EmbeddingToken> tokens(const text::ClipTokenizer& tokenizer, EmbeddingPart part,
                                           int64_t width = 0) const;

  // The same for a token counter that does not know the model family: every file of either
  // family counts, an SDXL pair by its clip_l vectors.
  std::vector<text::EmbeddingToken> tokens(const text::ClipTokenizer& tokenizer,
                                           int64_t width = 0) const;

  // One set of vectors of files()[index]: [vectors, width] float32. Throws the file's error,
  // or the refusal of read_embedding_file when the file has no such part.
  torch::Tensor vectors(std::size_t index, EmbeddingPart part = EmbeddingPart::single) const;

 private:
  std::vector<EmbeddingFile> files_;
  std::map<std::string, std::size_t> by_name_;
  mutable std::map<std::pair<std::size_t, EmbeddingPart>, torch::Tensor> cache_;
};

}  // namespace latent::pipeline
