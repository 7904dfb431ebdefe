#pragma once

// Counts the CLIP tokens of a prompt for the prompt editor's counter, with the bundled
// tokenizer (the one every Stable Diffusion 1.x model uses). Cheap enough for the GUI thread.

#include <QString>

#include <memory>

namespace latent::text {
class ClipTokenizer;
}

namespace latent::ui {

class TokenCounter {
 public:
  TokenCounter();
  ~TokenCounter();

  // Tokens without start/end; a rough word count when the vocabulary cannot be read.
  int count(const QString& prompt) const;

  static constexpr int kLimit = 75;  // what fits in one CLIP context

 private:
  std::unique_ptr<text::ClipTokenizer> m_tokenizer;
};

}  // namespace latent::ui
