#pragma once

// Short texts about a finished generation for the status line.

#include <QString>

#include <vector>

#include "core/api/generation_result.h"

namespace latent::ui {

// "LoRA: detail 0.8, style −0.5 (from the prompt)"; empty when no LoRA was applied.
QString loraSummary(const std::vector<api::AppliedLora>& loras);

}  // namespace latent::ui
