#include "ui/sealed_bytes.h"

#include <QCryptographicHash>

namespace latent::ui {
namespace {

constexpr auto kChecksum = QCryptographicHash::Md5;
constexpr qsizetype kChecksumBytes = 16;

}  // namespace

QByteArray sealBytes(const char* name, const QByteArray& body) {
  QByteArray bytes = QByteArray(name) + body;
  bytes += QCryptographicHash::hash(bytes, kChecksum);
  return bytes;
}

std::optional<QByteArray> unsealBytes(const char* name, const QByteArray& bytes) {
  const QByteArrayView magic(name);
  if (bytes.size() < magic.size() + kChecksumBytes || !bytes.startsWith(magic)) return std::nullopt;
  const QByteArrayView sealed = QByteArrayView(bytes).first(bytes.size() - kChecksumBytes);
  if (QCryptographicHash::hash(sealed, kChecksum) != QByteArrayView(bytes).last(kChecksumBytes)) return std::nullopt;
  return sealed.sliced(magic.size()).toByteArray();
}

}  // namespace latent::ui
