#pragma once

#include <QImage>

#include "core/pipeline/generation_request.h"

namespace latent::ui {

// A deep copy, so the QImage outlives the engine's buffer and may cross threads.
QImage toQImage(const pipeline::Image& image);

}  // namespace latent::ui
