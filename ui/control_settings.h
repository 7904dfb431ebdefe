#pragma once

// The ControlNet units of the form in the settings file (group "controlnet"), written and
// read by SettingsStore beside the other generation settings.

#include "core/api/generation_request.h"

class QSettings;

namespace latent::ui {

void writeControlUnits(QSettings& settings, const api::GenerationRequest& request);
// Replaces the request's units and guess mode with the stored ones (none when none are).
void readControlUnits(QSettings& settings, api::GenerationRequest& request);

}  // namespace latent::ui
