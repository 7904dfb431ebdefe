#pragma once

// A weighted prompt laid out in CLIP's 77-token windows as the web UI does
// (modules/sd_hijack_clip.py, tokenize_line): the pieces' tokens fill chunks of 75, each
// wrapped in its own start and end tokens; a chunk that fills up moves the text after a
// comma near its end into the next chunk; BREAK closes the current chunk; the names of
// textual-inversion embeddings become slots for their vectors. Torch-free.

#include <cstdint>
#include <string>
#include <vector>

#include "core/text/clip_tokenizer.h"
#include "core/text/prompt_parser.h"

namespace latent::text {

// A textual-inversion embedding as the chunker sees it.
struct EmbeddingToken {
  std::string name;
  std::vector<int64_t> ids;  // the name as ClipTokenizer::encode reads it
  int vectors = 1;           // how many token slots its vectors take
  // Set when the embedding cannot be used (a pickle, a malformed file): writing its name
  // in a prompt throws latent::Error with this message.
  std::string error;
};

// Where one embedding's vectors go in a chunk.
struct EmbeddingUse {
  int position = 0;  // index into PromptChunk::ids of the first vector
  int vectors = 0;
  std::size_t embedding = 0;  // index into the embeddings given to chunk_prompt
};

struct PromptChunk {
  std::vector<int64_t> ids;     // chunk_length + 2: start, tokens, end, padding
  std::vector<double> weights;  // one per id; 1 for start, end and padding
  std::vector<EmbeddingUse> embeddings;
  int token_count = 0;  // the prompt's tokens here (embedding vectors included)
};

struct ChunkedPrompt {
  std::vector<PromptPiece> pieces;
  std::vector<PromptChunk> chunks;  // at least one
  int token_count = 0;              // the prompt's tokens over all chunks

  // True when no token is weighted and no embedding is used: the plain encoding applies.
  bool is_plain() const;
};

struct ChunkOptions {
  int chunk_length = 75;     // tokens between the start and end tokens
  int comma_backtrack = 20;  // a comma this close to a full chunk's end starts the next chunk
                             // (the web UI's comma_padding_backtrack; 0 = never)
};

// Parses the emphasis syntax, tokenizes each piece on its own (as the web UI does) and lays
// the tokens out in chunks. Throws latent::Error for what parse_prompt_attention refuses and
// for an embedding that is named but unusable.
ChunkedPrompt chunk_prompt(const ClipTokenizer& tokenizer, const std::string& prompt,
                           const std::vector<EmbeddingToken>& embeddings = {},
                           const ChunkOptions& options = {});

// Start, end and padding with weights 1: what "" encodes to, and what a shorter prompt of a
// batch (or the negative prompt) is padded with to the longest one's chunk count.
PromptChunk empty_chunk(const ClipTokenizer& tokenizer, int chunk_length = 75);

// For a token counter: the prompt's tokens and chunks as the model will receive them.
struct PromptStats {
  int tokens = 0;
  int chunks = 1;
  std::string error;  // why the prompt would be refused; tokens/chunks then count it as plain text
};

// Never throws.
PromptStats prompt_stats(const ClipTokenizer& tokenizer, const std::string& prompt,
                         const std::vector<EmbeddingToken>& embeddings = {});

}  // namespace latent::text
