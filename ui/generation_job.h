#pragma once

// The values that travel between the GUI thread and the generation worker. All of
// them are plain copies, so queued signals can carry them across threads.

#include <QByteArray>
#include <QList>
#include <QImage>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/api/load_options.h"

namespace latent::ui {

// The gallery's "Upscale": a finished picture made larger (core/pipeline/picture_upscaler.h),
// saved as a new PNG beside it.
struct UpscaleJob {
  QString sourcePath;
  QString upscaler;  // "lanczos" or an upscaler network file
  double scale = 0;  // 0 = the network's own factor

  bool given() const { return !sourcePath.isEmpty(); }
};

// A Latent Studio server (`latentstudio-cli serve`) that runs the job instead of this computer.
struct RemoteServer {
  QString url;  // "http://host:port"; empty = this computer
  QString user;
  QString password;
  QString model;  // the server's model title (its sd-models list); empty = the one it has loaded

  bool given() const { return !url.isEmpty(); }
  bool operator==(const RemoteServer& o) const {
    return url == o.url && user == o.user && password == o.password && model == o.model;
  }
};

struct GenerationJob {
  quint64 id = 0;
  api::LoadOptions model;
  api::GenerationRequest request;
  QString outputDir;  // results are saved here at once; empty = not saved
  UpscaleJob upscale;     // given: this job upscales a picture and generates nothing
  RemoteServer server;    // given: the request runs there
};

struct GenerationProgress {
  int step = 0;
  int totalSteps = 0;
  double secondsElapsed = 0;
  double secondsPerStep = 0;
  double secondsLeft = 0;
  QList<QImage> previews;  // one per batch item; empty when none was made this step
  bool previewsAreVaeDecodes = false;
  bool tiles = false;  // an upscale: step and totalSteps count the tiles of a network pass
};

struct GenerationOutput {
  api::GenerationRequest request;
  QList<QImage> images;
  QStringList savedPaths;  // parallel to images when saving succeeded
  QString saveError;       // why saving failed; the images are still here
  QList<QByteArray> unsavedPng;  // when saving failed: each image as PNG with its metadata,
                                 // for "Save image as" to write elsewhere
  QString modelName;
  // Hashes of the starting picture and of the mask, as GenerationResult has them; empty
  // when the run had none.
  QString initImageHash;
  QString maskHash;
  double secondsTotal = 0;
  double secondsInPreviews = 0;
  std::vector<api::AppliedLora> loras;  // what was applied, prompt tags included
  QStringList warnings;  // things the user should know (a LoRA applied in part, a mask resized)
  QString memoryMode;    // GenerationResult::memory_mode: normal memory use or low-memory mode
};

}  // namespace latent::ui

Q_DECLARE_METATYPE(latent::ui::GenerationJob)
Q_DECLARE_METATYPE(latent::ui::GenerationProgress)
Q_DECLARE_METATYPE(latent::ui::GenerationOutput)
