// latentstudio-cli prompt: shows how a prompt is read (weighted pieces, 75-token chunks),
// without loading any network.
#include <QCommandLineParser>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common_options.h"
#include "core/io/model_files.h"
#include "core/models/clip_text_model.h"
#include "core/pipeline/textual_inversion.h"
#include "core/text/clip_tokenizer.h"
#include "core/text/prompt_chunks.h"
#include "core/util/error.h"
#include "core/util/resources.h"

using latent::Error;
namespace text = latent::text;

namespace {

// Printable: control characters and quotes escaped, the rest as written.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", u);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string weightText(double weight) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", weight);
  return buffer;
}

void printReading(const char* title, const text::ChunkedPrompt& prompt,
                  const text::ClipTokenizer& tokenizer,
                  const std::vector<text::EmbeddingToken>& embeddings) {
  std::printf("%s\n", title);
  std::printf("  pieces (%zu):\n", prompt.pieces.size());
  for (const auto& piece : prompt.pieces) {
    if (piece.is_break)
      std::printf("    %-8s BREAK\n", "");
    else
      std::printf("    %-8s %s\n", weightText(piece.weight).c_str(), quoted(piece.text).c_str());
  }
  std::printf("  tokens: %d in %zu chunk%s of 75\n", prompt.token_count, prompt.chunks.size(),
              prompt.chunks.size() == 1 ? "" : "s");
  for (std::size_t c = 0; c < prompt.chunks.size(); ++c) {
    const auto& chunk = prompt.chunks[c];
    std::printf("  chunk %zu (%d tokens):", c + 1, chunk.token_count);
    std::string line;
    const int end = 1 + chunk.token_count;  // after the start token
    for (int i = 1; i < end; ++i) {
      std::string token;
      for (const auto& use : chunk.embeddings) {
        if (i >= use.position && i < use.position + use.vectors) {
          token = "<" + embeddings.at(use.embedding).name + " " +
                  std::to_string(i - use.position + 1) + "/" + std::to_string(use.vectors) + ">";
        }
      }
      if (token.empty()) token = tokenizer.id_to_token(chunk.ids[static_cast<std::size_t>(i)]);
      const double weight = chunk.weights[static_cast<std::size_t>(i)];
      if (weight != 1.0) token += ":" + weightText(weight);
      std::printf(" %s", token.c_str());
    }
    std::printf("\n");
  }
}

}  // namespace

int runPrompt(const QStringList& arguments) {
  const ModelOptions model{WithoutModel::bundledTokenizer};
  const NegativePromptOption negative;
  const EmbeddingsOption embeddings;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Show how a prompt is read: the pieces with their weights ((word) x1.1, [word] /1.1, "
      "(word:1.5)), and the tokens of each 75-token chunk the text encoder receives; a --negative "
      "prompt is shown too, padded to the prompt's chunk count.");
  parser.addHelpOption();
  parser.addPositionalArgument("TEXT", "The prompt.");
  parser.addOptions(model.options() + negative.options() + embeddings.options());
  parser.process(arguments);
  const QStringList positional = parser.positionalArguments();
  if (positional.size() != 1)
    throw Error(positional.isEmpty()
                    ? "give the prompt to read, in quotes"
                    : "give one prompt, in quotes (" + std::to_string(positional.size()) +
                          " arguments were given)");

  const ModelChoice modelChoice = model.read(parser);
  const std::optional<std::string> negativePrompt = negative.read(parser);
  std::string tokenizerDir = latent::util::resource_path("tokenizer");
  int64_t width = 0;
  if (modelChoice.given()) {
    const auto files = latent::io::open_model(modelChoice.path, modelChoice.configDir);
    if (files.text_encoders.empty())
      throw Error("'" + modelChoice.path + "' has no text encoder to read a prompt with");
    // The first text encoder's tokenizer: SDXL's two tokenizers share one vocabulary.
    const latent::io::TextEncoderFiles& encoder = files.text_encoders.front();
    tokenizerDir = encoder.tokenizer_dir;
    width = latent::models::CLIPTextConfig::from_json(encoder.config).hidden_size;
  }
  const auto tokenizer = text::ClipTokenizer::from_folder(tokenizerDir);
  const auto library = latent::pipeline::EmbeddingLibrary::from_folder(embeddings.read(parser));
  const auto embeddingTokens = library.tokens(tokenizer, width);

  const auto prompt = text::chunk_prompt(tokenizer, positional.first().toStdString(), embeddingTokens);
  printReading("prompt", prompt, tokenizer, embeddingTokens);
  std::size_t chunks = prompt.chunks.size();
  if (negativePrompt) {
    const auto negativeReading = text::chunk_prompt(tokenizer, *negativePrompt, embeddingTokens);
    printReading("negative prompt", negativeReading, tokenizer, embeddingTokens);
    chunks = std::max(chunks, negativeReading.chunks.size());
  }
  std::printf("chunks: %zu (the text encoder's output is %zu tokens long)\n", chunks, chunks * 77);
  return 0;
}
