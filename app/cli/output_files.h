#pragma once

// Where commands write their pictures, checked before any work starts.

#include <QString>

#include <vector>

// FILE.png for one picture; FILE-1.png, FILE-2.png, ... for several.
std::vector<QString> numberedOutputPaths(const QString& out, int count);

// Throws latent::Error when a path's folder does not exist, a file is there already and
// `overwrite` is false, or a name does not end in .png.
void checkOutputPaths(const std::vector<QString>& paths, bool overwrite);
