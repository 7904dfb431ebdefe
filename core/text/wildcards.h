#pragma once

// Wildcards as the web UI's Dynamic Prompts extension writes them: `__name__` in a prompt is
// replaced by one line of the file `name.txt` in a wildcards folder (`__dir/name__` reads
// `dir/name.txt`). A file holds one option per line; blank lines and lines starting with `#`
// are skipped, and an option may itself hold wildcards, expanded in turn.
//
// Choices are drawn from one generator per image, seeded with the image's seed, so the same
// seed always gives the same prompt: std::mt19937_64 (whose output the C++ standard fixes)
// seeded with the seed, an option picked as the first draw below the largest multiple of the
// option count, modulo the count. Draws go in text order, each wildcard's choice drawn before
// the wildcards inside it; the prompt is expanded first, then the negative prompt, then the
// second prompts and the hires prompts, all from the same generator. Torch-free.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace latent::text {

// How deep wildcards may name wildcards (a file naming itself would never end).
constexpr int kMaxWildcardDepth = 10;
// The largest wildcard file read.
constexpr std::size_t kMaxWildcardFileBytes = 8u << 20;

// The options of a wildcard file's text: each line trimmed, without blank lines and `#`
// comments, a leading UTF-8 byte-order mark dropped. Never throws.
std::vector<std::string> parse_wildcard_options(const std::string& text);

// Where the options of a wildcard come from: given its name (`dir/name`), its options, or
// latent::Error naming what is missing.
using WildcardSource = std::function<const std::vector<std::string>&(const std::string& name)>;

// The files of `folder`, each read once (for one generation). Names that step outside the
// folder (`..`, an absolute path) are refused. Throws latent::Error when the folder does not
// exist; the source throws naming the wildcard and the file for a missing or empty file, or
// one over kMaxWildcardFileBytes.
WildcardSource wildcard_folder(const std::string& folder);

// Whether `text` holds a `__name__`.
bool has_wildcards(const std::string& text);

// `text` with every `__name__` replaced by a choice drawn from `generator` (see the top of
// this header), recursively. Throws latent::Error for wildcards nested deeper than
// kMaxWildcardDepth (naming the chain) and for a result over kMaxPromptBytes.
std::string expand_wildcards(const std::string& text, const WildcardSource& source, std::mt19937_64& generator);

// An option index below `count` (> 0) drawn as described above.
std::size_t draw_index(std::mt19937_64& generator, std::size_t count);

}  // namespace latent::text
