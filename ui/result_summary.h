#pragma once

// Short texts about a finished generation for the status line.

#include <QString>

#include <vector>

#include "core/pipeline/generation_request.h"

namespace latent::ui {

// "LoRA: detail 0.8, style −0.5 (from the prompt)"; empty when no LoRA was applied.
QString loraSummary(const std::vector<pipeline::AppliedLora>& loras);

}  // namespace latent::ui
