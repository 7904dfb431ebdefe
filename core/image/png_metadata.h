#pragma once

// PNG files with text chunks: encoding an image with its parameters, saving it
// atomically, and reading the text chunks back from any PNG (tEXt, iTXt, zTXt).

#include <map>
#include <string>
#include <vector>

#include "core/api/image.h"

namespace latent::image {

using TextChunks = std::vector<std::pair<std::string, std::string>>;  // keyword, UTF-8 text

// PNG bytes of `image` with the text chunks placed before the image data.
std::vector<unsigned char> encode_png(const api::Image& image, const TextChunks& texts);

// Writes through a temporary file renamed into place: a failure leaves no partial
// file and any previous file untouched. Throws latent::Error naming the path.
void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes);

// Text chunks of a PNG file or buffer. Malformed or truncated files yield the chunks
// read before the damage; a file that is not a PNG yields none. Never throws for bad data.
TextChunks read_png_text(const std::vector<unsigned char>& bytes);
TextChunks read_png_text_file(const std::string& path);

// The body of a PNG's eXIf chunk (an EXIF block, see foreign_metadata/exif_reader.h); empty
// without one. Never throws for bad data.
std::string read_png_exif(const std::vector<unsigned char>& bytes);

}  // namespace latent::image
