#pragma once

// The text fields of an EXIF block (a TIFF structure, as JPEG's APP1 segment, WebP's EXIF
// chunk and PNG's eXIf chunk carry it) that image generators write their settings into:
// the web UI and Fooocus put theirs in UserComment (tag 0x9286), Fooocus its scheme in
// MakerNote (0x927C), ComfyUI its graphs as "prompt:{...}" in Model (0x0110) and
// "workflow:{...}" in Make (0x010F).

#include <cstddef>
#include <string>

namespace latent::image {

struct ExifText {
  std::string user_comment;       // decoded from its character-code prefix to UTF-8
  std::string maker_note;         // as bytes, trailing NULs dropped
  std::string image_description;  // ASCII fields: UTF-8 where the writer put UTF-8
  std::string make;
  std::string model;
  std::string software;

  bool empty() const {
    return user_comment.empty() && maker_note.empty() && image_description.empty() && make.empty() &&
           model.empty() && software.empty();
  }
};

// Reads IFD0 and the Exif IFD of a TIFF structure ("II*\0" or "MM\0*" first; an "Exif\0\0"
// prefix is skipped). Every offset and count is checked against `size`: damaged or hostile
// data yields the fields read before the damage, never a read outside the buffer.
ExifText read_exif_text(const unsigned char* data, std::size_t size);

// UserComment's value: an 8-byte character code ("ASCII\0\0\0", "UNICODE\0", "JIS\0\0\0\0\0"
// or eight NULs for undefined), then the text. UNICODE text is UTF-16 in either byte order
// (piexif, which the web UI uses, writes big-endian whatever the file's order; others follow
// the file's order), told apart by a byte-order mark or by where the zero bytes of its ASCII
// characters fall, else `big_endian_file` decides. Other codes and no code read as UTF-8.
std::string decode_user_comment(const unsigned char* data, std::size_t size, bool big_endian_file);

}  // namespace latent::image
