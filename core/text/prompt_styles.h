#pragma once

// Saved styles in the web UI's `styles.csv` (modules/styles.py): a CSV file with a header
// row naming the columns `name`, `prompt` (or the older `text`) and `negative_prompt`, one
// style per row. Applying a style puts the prompt where its `{prompt}` placeholder stands,
// or, without one, appends the style's text after ", " (leaving out empty parts); the
// negative prompt alike. Several styles apply in order, each to the result of the last.
// Torch-free.

#include <string>
#include <vector>

namespace latent::text {

struct PromptStyle {
  std::string name;
  std::string prompt;
  std::string negative_prompt;

  bool operator==(const PromptStyle& other) const {
    return name == other.name && prompt == other.prompt && negative_prompt == other.negative_prompt;
  }
};

// The largest styles file read.
constexpr std::size_t kMaxStylesFileBytes = 16u << 20;

// The styles of a styles.csv text, read as Python's csv.DictReader(skipinitialspace=True)
// reads it (quoted fields with "" for a quote and line breaks inside, a leading UTF-8
// byte-order mark dropped), in file order. As in the web UI, rows whose name starts with `#`
// are comments, a later row replaces an earlier one of the same name (keeping its place), and
// missing cells are empty; rows without a name are skipped. Throws latent::Error naming
// `source` when the header has no `name` column or neither `prompt` nor `text`.
std::vector<PromptStyle> parse_styles_csv(const std::string& text, const std::string& source = "the styles file");

// The styles as the web UI writes them: a byte-order mark, the header
// `name,prompt,negative_prompt`, one row per style, fields quoted where they need it, CRLF.
std::string styles_csv(const std::vector<PromptStyle>& styles);

// Reads a styles file; a file that does not exist has no styles. Throws latent::Error naming
// the file when it cannot be read, is over kMaxStylesFileBytes or is not a styles file.
std::vector<PromptStyle> read_styles_file(const std::string& path);

// Writes the styles to `path` through a temporary file renamed over it, so that a failed
// save leaves the old file as it was. Throws latent::Error naming the file.
void write_styles_file(const std::string& path, const std::vector<PromptStyle>& styles);

// The web UI's merge_prompts: `style` with `{prompt}` replaced by `prompt` where it has the
// placeholder, else the two trimmed and joined with ", " (empty ones left out).
std::string merge_style(const std::string& style, const std::string& prompt);

struct StyledPrompts {
  std::string prompt;
  std::string negative_prompt;
};

// The prompt and negative prompt with the named styles applied in order. Throws
// latent::Error for a name that is not among `styles`, listing those that are.
StyledPrompts apply_styles(const std::string& prompt, const std::string& negative_prompt,
                           const std::vector<PromptStyle>& styles, const std::vector<std::string>& names);

}  // namespace latent::text
