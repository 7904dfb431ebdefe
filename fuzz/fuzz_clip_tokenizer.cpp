// Fuzzes the CLIP tokenizer with the bundled vocabulary: text cleanup (ftfy, NFC, lower
// case), byte-level BPE, the 77-token windows of the prompt chunker and decoding back.
// Any bytes must tokenize; ids stay inside the vocabulary.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text/clip_tokenizer.h"
#include "core/text/prompt_chunks.h"
#include "core/util/error.h"

namespace {

const latent::text::ClipTokenizer& tokenizer() {
  static const auto instance = latent::text::ClipTokenizer::from_folder(LATENT_FUZZ_TOKENIZER_DIR);
  return instance;
}

}  // namespace

// Loads the vocabulary before fuzzing starts, so that its cost is not charged to the first input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = latent::text;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto& clip = tokenizer();
  const auto ids = clip.encode(input);
  for (int64_t id : ids)
    if (id < 0 || id >= clip.vocab_size()) std::abort();
  if (clip.encode_padded(input).size() != 77) std::abort();
  (void)clip.decode(ids);
  try {
    const auto chunked = text::chunk_prompt(clip, input);
    for (const auto& chunk : chunked.chunks)
      if (chunk.ids.size() != 77 || chunk.weights.size() != 77) std::abort();
  } catch (const latent::Error&) {
  }
  (void)text::prompt_stats(clip, input);
  return 0;
}
