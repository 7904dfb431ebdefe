#pragma once

// Shared by the GUI suites: the tiny test model and a settings store in a temporary folder.

#include <QDir>
#include <QStandardPaths>
#include <QString>
#include <QTemporaryDir>

#include "core/pipeline/generation_request.h"

namespace latent::test {

inline QString tinyModelPath() { return QStringLiteral(LATENT_TEST_DATA "/tiny-sd"); }

// A request the tiny model runs in a blink: 64x64, a few steps.
inline pipeline::GenerationRequest quickRequest(const std::string& prompt = "a red apple on a table", int steps = 6) {
  pipeline::GenerationRequest r;
  r.prompt = prompt;
  r.negative_prompt = "blurry";
  r.width = 64;
  r.height = 64;
  r.steps = steps;
  r.guidance_scale = 7.5;
  r.seed = 1234;
  r.sampler = "euler";
  return r;
}

inline pipeline::LoadOptions tinyModel() {
  pipeline::LoadOptions options;
  options.model_path = tinyModelPath().toStdString();
  return options;
}

inline QStringList imagesIn(const QString& dir) {
  return QDir(dir).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
}

}  // namespace latent::test
