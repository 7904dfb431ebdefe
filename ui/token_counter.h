#pragma once

// Counts the CLIP tokens and 75-token chunks of a prompt, read with the emphasis syntax,
// for the prompt editor's counter, with the bundled tokenizer (the one every Stable
// Diffusion 1.x model uses). Cheap enough for the GUI thread.

#include <QString>

#include <memory>

namespace latent::text {
class ClipTokenizer;
}

namespace latent::ui {

struct TokenCount {
  int tokens = 0;
  int chunks = 1;  // long prompts are encoded as several 75-token chunks
};

class TokenCounter {
 public:
  TokenCounter();
  ~TokenCounter();

  // Tokens without start/end; a rough word count when the vocabulary cannot be read.
  TokenCount count(const QString& prompt) const;

  static constexpr int kLimit = 75;  // what fits in one CLIP context

 private:
  std::unique_ptr<text::ClipTokenizer> m_tokenizer;
};

}  // namespace latent::ui
