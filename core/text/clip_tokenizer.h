#pragma once

// CLIP's byte-level BPE tokenizer, id-for-id equal to transformers' slow CLIPTokenizer
// (models/clip/tokenization_clip.py) as Stable Diffusion pipelines call it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/text/text_cleanup.h"

namespace latent::text {

// Strings of the special tokens; tokenizer_config.json / special_tokens_map.json may
// override them. Each must be in the vocabulary.
//
// transformers registers every special token, the pad token included, as an added token
// that is split out of the text before cleaning and BPE. SD 1.x and SDXL's `tokenizer/` pad
// with <|endoftext|>, so this changes nothing there; SDXL's `tokenizer_2/` pads with "!"
// (id 0), so every "!" in a prompt becomes id 0 on its own ("!!!" -> 0 0 0, "?!" ->
// "?</w>" 0) where tokenizer 1 reads "!</w>" or "!!!</w>" by BPE, and padding is 0.
struct SpecialTokens {
  std::string bos = "<|startoftext|>";
  std::string eos = "<|endoftext|>";
  std::string unk = "<|endoftext|>";
  std::string pad = "<|endoftext|>";
};

// Immutable after loading and cheap to copy (copies share the vocabulary and the BPE word
// cache); encode() and decode() may be called from several threads at once.
class ClipTokenizer {
 public:
  // Throws latent::Error naming the file when one is missing or malformed.
  ClipTokenizer(const std::string& vocab_json_path, const std::string& merges_txt_path,
                SpecialTokens special = {});

  // A diffusers `tokenizer/` folder: vocab.json, merges.txt and, when present,
  // tokenizer_config.json and special_tokens_map.json (for the special token strings).
  static ClipTokenizer from_folder(const std::string& dir);

  // BPE ids of the prompt without start/end tokens and untruncated. Special token strings
  // in the text (the pad token's too, see SpecialTokens) map to their ids. Invalid UTF-8
  // is read as U+FFFD.
  std::vector<int64_t> encode(const std::string& utf8_text) const;

  // [bos] + the first (max_length - 2) ids + [eos], padded to max_length with pad_id().
  // max_length must be at least 2.
  std::vector<int64_t> encode_padded(const std::string& utf8_text, int max_length = 77) const;

  // The vocabulary strings encode() would produce ids for ("astronaut</w>", "ðŁĺĬ</w>").
  std::vector<std::string> tokenize(const std::string& utf8_text) const;

  // Text of the ids as transformers' decode: byte-level symbols back to UTF-8, "</w>" to
  // a space, trimmed. Ids outside the vocabulary are skipped.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const;

  // The vocabulary string of one id (empty when unknown).
  std::string id_to_token(int64_t id) const;
  // The id of a vocabulary string, or -1.
  int64_t token_to_id(const std::string& token) const;

  // The special token strings this tokenizer was made with (from_folder: read from the folder).
  const SpecialTokens& special_tokens() const;

  int64_t bos_id() const;
  int64_t eos_id() const;
  int64_t pad_id() const;
  int64_t unk_id() const;
  int64_t vocab_size() const;  // entries of vocab.json (49408 for CLIP)
  std::size_t merge_count() const;

  TextCleanup cleanup() const { return cleanup_; }
  void set_cleanup(TextCleanup mode) { cleanup_ = mode; }

 private:
  struct Data;
  void encode_into(const std::string& utf8_text, std::vector<int64_t>* ids,
                   std::vector<std::string>* tokens) const;

  std::shared_ptr<Data> data_;
  TextCleanup cleanup_ = TextCleanup::Basic;
};

}  // namespace latent::text
