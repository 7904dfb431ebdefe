#include "ui/scrambled_text.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QStandardPaths>

namespace latent::ui {
namespace {

constexpr int kKeyBytes = 32;
const QString kPrefix = QStringLiteral("scrambled1:");

QString keyPath() {
  return QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation)).filePath(QStringLiteral("settings.key"));
}

// The user's key, made (owner-only) on first use when `create`; empty when there is none.
QByteArray key(bool create) {
  QFile file(keyPath());
  if (file.open(QIODevice::ReadOnly)) {
    const QByteArray bytes = file.readAll();
    if (bytes.size() == kKeyBytes) return bytes;
  }
  if (!create) return {};
  QByteArray bytes(kKeyBytes, Qt::Uninitialized);
  QRandomGenerator::system()->fillRange(reinterpret_cast<quint32*>(bytes.data()), kKeyBytes / 4);
  QDir().mkpath(QFileInfo(keyPath()).absolutePath());
  QSaveFile out(keyPath());
  if (!out.open(QIODevice::WriteOnly)) return {};
  out.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
  out.write(bytes);
  return out.commit() ? bytes : QByteArray();
}

QByteArray xorWith(QByteArray data, const QByteArray& key) {
  for (qsizetype i = 0; i < data.size(); ++i) data[i] = static_cast<char>(data[i] ^ key[i % key.size()]);
  return data;
}

}  // namespace

QString scramble(const QString& secret) {
  if (secret.isEmpty()) return {};
  const QByteArray k = key(true);
  if (k.isEmpty()) return {};  // no key can be kept: the password is not remembered at all
  return kPrefix + QString::fromLatin1(xorWith(secret.toUtf8(), k).toBase64());
}

QString unscramble(const QString& stored) {
  if (!stored.startsWith(kPrefix)) return {};
  const QByteArray k = key(false);
  if (k.isEmpty()) return {};
  return QString::fromUtf8(xorWith(QByteArray::fromBase64(stored.mid(kPrefix.size()).toLatin1()), k));
}

}  // namespace latent::ui
