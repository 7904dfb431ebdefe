#pragma once

// Everything the form holds: what to generate, with which model, and how often.

#include <QString>

#include "core/api/generation_request.h"
#include "core/api/load_options.h"
#include "ui/generation_job.h"

namespace latent::ui {

// What a generation starts from: noise (text to image), a picture (image to image), or a
// picture with a painted mask (inpainting).
enum class ImageMode { Text, Image, Inpaint };

struct GenerationSettings {
  api::GenerationRequest request;
  api::LoadOptions model;
  bool seedLocked = false;  // unlocked: every Generate draws a fresh seed
  int batchCount = 1;       // runs one after another, with seeds seed, seed+1, ...
  ImageMode imageMode = ImageMode::Text;
  QString initImagePath;  // the starting picture's file, reopened next time; empty = none or pasted
  int brushSize = 32;     // of the mask brush, in picture pixels
  QString upscalerFolder;  // upscaler networks for the hires fix and the Upscale action
  // Where generations run: `server.url` empty = this computer. The server's address stays
  // remembered while this computer is chosen (`runOnServer` false).
  RemoteServer server;
  bool runOnServer = false;
};

}  // namespace latent::ui
