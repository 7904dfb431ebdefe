#pragma once

// The texts an image file carries about how it was made, from any of the containers that
// Stable Diffusion programs write: PNG text chunks (tEXt, zTXt, iTXt), the EXIF block of a
// JPEG (APP1), a WebP (its EXIF chunk) or a PNG (eXIf), and JPEG comments. EXIF fields come
// back under the names the same programs give them in PNG chunks: UserComment as
// "parameters", Fooocus's MakerNote as "fooocus_scheme", ComfyUI's "prompt:{...}" and
// "workflow:{...}" values as "prompt" and "workflow".

#include <string>
#include <vector>

namespace latent::image {

enum class ImageFormat { unknown, png, jpeg, webp };

const char* image_format_name(ImageFormat format);  // "PNG", "JPEG", "WebP"; "unknown"

struct EmbeddedText {
  std::string key;       // "parameters", "prompt", "Comment", "Software", ...
  std::string text;      // UTF-8
  std::string location;  // where it was found, for people: "PNG text chunk \"prompt\"", "EXIF UserComment"
};

struct EmbeddedTexts {
  ImageFormat format = ImageFormat::unknown;
  std::vector<EmbeddedText> texts;

  // The first text under `key`, or nullptr.
  const EmbeddedText* find(const std::string& key) const;
};

// The format (from the file's first bytes) and its texts. Damaged or hostile data yields
// what was read before the damage; never throws for bad data.
EmbeddedTexts read_embedded_texts(const std::vector<unsigned char>& bytes);

}  // namespace latent::image
