#pragma once

// The pictures in a folder with their stamps, read from the folder alone (no file is opened).
// A gallery of 20000 pictures lists its folder on every change the watcher reports, so this
// goes straight to the system: readdir and fstatat cost a quarter of what QDirIterator with
// QFileInfo does for the same folder.

#include <QStringList>

#include <vector>

#include "ui/file_stamp.h"

namespace latent::ui {

// Regular files (symbolic links followed; dangling ones and hidden files left out) in `folder`,
// an absolute path, whose names end in one of `suffixes` (".png", any case), in no order.
std::vector<FileStamp> listFiles(const QString& folder, const QStringList& suffixes);

}  // namespace latent::ui
