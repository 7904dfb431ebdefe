#pragma once

// Saving results into the output folder: fresh numbered names that never replace
// an existing file, PNG with metadata, written through a temporary file.

#include <QByteArray>
#include <QString>

#include "core/api/generation_result.h"
#include "core/api/load_options.h"

namespace latent::ui {

// A path in `dir` named "<number>-<seed>.png" that no file has yet; the number is one
// past the highest already used there.
QString uniqueImagePath(const QString& dir, uint64_t seed);

// Where the upscale of `source` goes: beside it, "<name>-<upscaler>-x<scale>.png" ("x" alone
// for the network's own factor), numbered on when that name is taken.
QString upscaledImagePath(const QString& source, const QString& upscaler, double scale);

// Image `index` of `result` as PNG bytes with its parameters embedded.
QByteArray encodedResultImage(const api::GenerationResult& result, int index,
                              const api::LoadOptions& model);

// Saves image `index` of `result` and returns its path. Creates `dir` when needed.
// Throws latent::Error naming the folder or file on failure.
QString saveResultImage(const QString& dir, const api::GenerationResult& result, int index,
                        const api::LoadOptions& model);

}  // namespace latent::ui
