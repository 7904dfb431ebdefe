// Reference: AUTOMATIC1111 stable-diffusion-webui modules/sd_hijack_clip.py
// (FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line) and
// modules/textual_inversion/textual_inversion.py (find_embedding_at_position).
#include "core/text/prompt_chunks.h"

#include <algorithm>
#include <exception>
#include <map>

#include "core/util/error.h"

namespace latent::text {
namespace {

// The chunk being filled: tokens without the start/end wrapping.
struct OpenChunk {
  std::vector<int64_t> tokens;
  std::vector<double> weights;
  std::vector<EmbeddingUse> embeddings;  // positions relative to `tokens`
};

class Chunker {
 public:
  Chunker(const ClipTokenizer& tokenizer, const std::vector<EmbeddingToken>& embeddings,
          const ChunkOptions& options)
      : tokenizer_(tokenizer),
        embeddings_(embeddings),
        options_(options),
        comma_(tokenizer.token_to_id(",</w>")) {
    if (options_.chunk_length < 1) throw Error("the chunk length must be at least 1 token");
    for (std::size_t i = 0; i < embeddings_.size(); ++i)
      if (!embeddings_[i].ids.empty()) by_first_id_[embeddings_[i].ids.front()].push_back(i);
    // Longest names first, so that "style-long" wins over "style".
    for (auto& [id, list] : by_first_id_)
      std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
        return embeddings_[a].ids.size() > embeddings_[b].ids.size();
      });
  }

  std::vector<PromptChunk> run(const std::vector<PromptPiece>& pieces) {
    const auto length = static_cast<std::size_t>(options_.chunk_length);
    for (const auto& piece : pieces) {
      if (piece.is_break) {
        next_chunk();
        continue;
      }
      const auto tokens = tokenizer_.encode(piece.text);
      std::size_t position = 0;
      while (position < tokens.size()) {
        const int64_t token = tokens[position];
        if (token == comma_) {
          last_comma_ = static_cast<long>(chunk_.tokens.size());
        } else if (options_.comma_backtrack > 0 && chunk_.tokens.size() == length &&
                   last_comma_ >= 0 &&
                   static_cast<long>(length) - last_comma_ <= options_.comma_backtrack) {
          move_after_comma_to_next_chunk();
        }
        if (chunk_.tokens.size() == length) next_chunk();

        const std::size_t match = find_embedding(tokens, position);
        if (match == kNone) {
          chunk_.tokens.push_back(token);
          chunk_.weights.push_back(piece.weight);
          ++position;
          continue;
        }
        const EmbeddingToken& embedding = embeddings_[match];
        if (!embedding.error.empty()) throw Error(embedding.error);
        const auto vectors = static_cast<std::size_t>(std::max(embedding.vectors, 1));
        if (vectors > length)
          throw Error("the embedding \"" + embedding.name + "\" has " + std::to_string(vectors) +
                      " vectors; at most " + std::to_string(length) + " fit in a chunk");
        if (chunk_.tokens.size() + vectors > length) next_chunk();
        chunk_.embeddings.push_back(
            {static_cast<int>(chunk_.tokens.size()), static_cast<int>(vectors), match});
        chunk_.tokens.insert(chunk_.tokens.end(), vectors, kPlaceholderId);
        chunk_.weights.insert(chunk_.weights.end(), vectors, piece.weight);
        position += embedding.ids.size();
      }
    }
    if (!chunk_.tokens.empty() || chunks_.empty()) next_chunk();
    return std::move(chunks_);
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  // The id under an embedding's vectors; it is never looked up (the web UI uses 0 too).
  static constexpr int64_t kPlaceholderId = 0;

  std::size_t find_embedding(const std::vector<int64_t>& tokens, std::size_t position) const {
    const auto it = by_first_id_.find(tokens[position]);
    if (it == by_first_id_.end()) return kNone;
    for (const std::size_t index : it->second) {
      const auto& ids = embeddings_[index].ids;
      if (position + ids.size() <= tokens.size() &&
          std::equal(ids.begin(), ids.end(), tokens.begin() + static_cast<long>(position)))
        return index;
    }
    return kNone;
  }

  void move_after_comma_to_next_chunk() {
    const auto cut = static_cast<std::size_t>(last_comma_ + 1);
    OpenChunk rest;
    rest.tokens.assign(chunk_.tokens.begin() + static_cast<long>(cut), chunk_.tokens.end());
    rest.weights.assign(chunk_.weights.begin() + static_cast<long>(cut), chunk_.weights.end());
    chunk_.tokens.resize(cut);
    chunk_.weights.resize(cut);
    // Embedding slots move with their tokens (an embedding never straddles the cut: a
    // comma is never one of its slots).
    auto& uses = chunk_.embeddings;
    for (auto it = uses.begin(); it != uses.end();) {
      if (static_cast<std::size_t>(it->position) >= cut) {
        rest.embeddings.push_back(
            {it->position - static_cast<int>(cut), it->vectors, it->embedding});
        it = uses.erase(it);
      } else {
        ++it;
      }
    }
    next_chunk();
    chunk_ = std::move(rest);
  }

  void next_chunk() {
    const auto length = static_cast<std::size_t>(options_.chunk_length);
    PromptChunk out;
    out.token_count = static_cast<int>(chunk_.tokens.size());
    out.ids.reserve(length + 2);
    out.ids.push_back(tokenizer_.bos_id());
    out.ids.insert(out.ids.end(), chunk_.tokens.begin(), chunk_.tokens.end());
    out.ids.push_back(tokenizer_.eos_id());
    out.ids.resize(length + 2, tokenizer_.pad_id());
    out.weights.assign(length + 2, 1.0);
    std::copy(chunk_.weights.begin(), chunk_.weights.end(), out.weights.begin() + 1);
    for (auto use : chunk_.embeddings) {
      use.position += 1;  // after the start token
      out.embeddings.push_back(use);
    }
    chunks_.push_back(std::move(out));
    chunk_ = OpenChunk();
    last_comma_ = -1;
  }

  const ClipTokenizer& tokenizer_;
  const std::vector<EmbeddingToken>& embeddings_;
  ChunkOptions options_;
  int64_t comma_;
  std::map<int64_t, std::vector<std::size_t>> by_first_id_;
  std::vector<PromptChunk> chunks_;
  OpenChunk chunk_;
  long last_comma_ = -1;
};

}  // namespace

bool ChunkedPrompt::is_plain() const {
  for (const auto& chunk : chunks) {
    if (!chunk.embeddings.empty()) return false;
    for (const double w : chunk.weights)
      if (w != 1.0) return false;
  }
  return true;
}

ChunkedPrompt chunk_prompt(const ClipTokenizer& tokenizer, const std::string& prompt,
                           const std::vector<EmbeddingToken>& embeddings,
                           const ChunkOptions& options) {
  ChunkedPrompt out;
  out.pieces = parse_prompt_attention(prompt);
  out.chunks = Chunker(tokenizer, embeddings, options).run(out.pieces);
  for (const auto& chunk : out.chunks) out.token_count += chunk.token_count;
  return out;
}

PromptChunk empty_chunk(const ClipTokenizer& tokenizer, int chunk_length) {
  ChunkOptions options;
  options.chunk_length = chunk_length;
  return Chunker(tokenizer, {}, options).run({}).front();
}

PromptStats prompt_stats(const ClipTokenizer& tokenizer, const std::string& prompt,
                         const std::vector<EmbeddingToken>& embeddings) {
  PromptStats stats;
  try {
    const auto chunked = chunk_prompt(tokenizer, prompt, embeddings);
    stats.tokens = chunked.token_count;
    stats.chunks = static_cast<int>(chunked.chunks.size());
    return stats;
  } catch (const std::exception& error) {
    stats.error = error.what();
  }
  try {
    stats.tokens = static_cast<int>(tokenizer.encode(prompt).size());
    stats.chunks = std::max(1, (stats.tokens + 74) / 75);
  } catch (const std::exception&) {
    stats.tokens = 0;
    stats.chunks = 1;
  }
  return stats;
}

}  // namespace latent::text
