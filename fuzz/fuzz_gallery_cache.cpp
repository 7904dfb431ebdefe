// Fuzzes the gallery's own cache files, which it reads back from the user's cache folder
// (ui/thumbnail_cache_record.h, ui/gallery_index.h). The first byte picks a thumbnail record
// or a folder index; the rest is what follows the format's name. The bytes are read as they
// are, and again with the checksum a real file carries appended, so that the fuzzer reaches
// the field reader instead of stopping at the checksum. Whatever is read must write back into
// bytes that read as the same entries. Nothing may crash or throw.
#include <cstdint>
#include <cstdlib>

#include "ui/gallery_index.h"
#include "ui/sealed_bytes.h"
#include "ui/thumbnail_cache_record.h"

namespace {

bool same(const latent::ui::IndexedImage& a, const latent::ui::IndexedImage& b) {
  return a.fileName == b.fileName && a.size == b.size && a.modifiedMs == b.modifiedMs && a.broken == b.broken &&
         a.imageSize == b.imageSize && a.prompt == b.prompt && a.negativePrompt == b.negativePrompt;
}

void fuzzRecord(const QByteArray& bytes) {
  namespace ui = latent::ui;
  const auto record = ui::decodeThumbnailRecord(bytes);
  if (!record) return;
  const auto again = ui::decodeThumbnailRecord(ui::encodeThumbnailRecord(*record));
  if (!again || again->source != record->source || again->encodedImage != record->encodedImage) std::abort();
}

void fuzzIndex(const QByteArray& bytes) {
  namespace ui = latent::ui;
  const QString folder = QStringLiteral("/pictures");
  const auto images = ui::decodeGalleryIndex(bytes, folder);
  if (!images) return;
  const auto again = ui::decodeGalleryIndex(ui::encodeGalleryIndex(folder, *images), folder);
  if (!again || again->size() != images->size()) std::abort();
  for (qsizetype i = 0; i < images->size(); ++i)
    if (!same(again->at(i), images->at(i))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const QByteArray body(reinterpret_cast<const char*>(data + 1), qsizetype(size - 1));
  if (data[0] & 1) {
    fuzzIndex(body);
    fuzzIndex(latent::ui::sealBytes(latent::ui::kGalleryIndexMagic, body));
  } else {
    fuzzRecord(body);
    fuzzRecord(latent::ui::sealBytes(latent::ui::kThumbnailRecordMagic, body));
  }
  return 0;
}
