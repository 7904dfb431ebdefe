#pragma once

// How the gallery frames the files it keeps in the user's cache folder (thumbnail records,
// folder indexes): the format's name and version, the body, and the MD5 of both. A file that
// was damaged, cut short or written in another format is recognised before its body is read.
// Qt Core only, so that the fuzzer can read these files without a display.

#include <QByteArray>
#include <QDataStream>

#include <optional>

namespace latent::ui {

// Bodies are written with QDataStream in this version's form, whichever Qt writes or reads them.
constexpr QDataStream::Version kCacheStreamVersion = QDataStream::Qt_6_0;

// `name`, then `body`, then the MD5 of both.
QByteArray sealBytes(const char* name, const QByteArray& body);
// The body of `bytes` when they start with `name` and end with the MD5 of all before it.
std::optional<QByteArray> unsealBytes(const char* name, const QByteArray& bytes);

}  // namespace latent::ui
