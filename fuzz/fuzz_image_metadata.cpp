// Fuzzes what dropping or opening any image does (core/image/file_metadata.h): the container
// is told by its first bytes (PNG, JPEG, WebP), its texts and EXIF block are read (the EXIF
// reader bounds every offset and count), the settings of whichever program wrote them are
// translated, restored into a request and printed as png-info's JSON. The same bytes also go
// to the EXIF reader alone, as a bare TIFF block. None of it may crash or throw.
#include <cstdint>
#include <vector>

#include "core/image/file_metadata.h"
#include "core/image/foreign_metadata/exif_reader.h"
#include "core/image/metadata_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace image = latent::image;
  (void)image::read_exif_text(data, size);
  const image::ImageMetadata meta = image::read_image_metadata(std::vector<unsigned char>(data, data + size));
  const latent::api::GenerationRequest base;
  (void)meta.to_result(base);
  (void)image::metadata_to_json(meta);
  return 0;
}
