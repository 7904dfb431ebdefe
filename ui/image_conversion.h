#pragma once

#include <QImage>

#include <memory>

#include "core/api/image.h"

namespace latent::ui {

// A deep copy, so the QImage outlives the engine's buffer and may cross threads.
QImage toQImage(const api::Image& image);

// The engine's 8-bit RGB form of any QImage (alpha is dropped, grey becomes R = G = B).
// A null image gives an empty one.
std::shared_ptr<const api::Image> toApiImage(const QImage& image);

}  // namespace latent::ui
