#pragma once

// Shared by the GUI suites: the tiny test model, a settings store in a temporary folder and
// the main window opened on it.

#include <QDir>
#include <QStandardPaths>
#include <QString>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <memory>

#include "core/api/generation_request.h"
#include "core/api/load_options.h"
#include "ui/main_window.h"
#include "ui/settings_store.h"

namespace latent::test {

inline QString tinyModelPath() { return QStringLiteral(LATENT_TEST_DATA "/tiny-sd"); }

// A request the tiny model runs in a blink: 64x64, a few steps.
inline api::GenerationRequest quickRequest(const std::string& prompt = "a red apple on a table", int steps = 6) {
  api::GenerationRequest r;
  r.prompt = prompt;
  r.negative_prompt = "blurry";
  r.size.width = 64;
  r.size.height = 64;
  r.sampling.steps = steps;
  r.sampling.guidance_scale = 7.5;
  r.sampling.seed = 1234;
  r.sampling.sampler = "euler";
  return r;
}

inline api::LoadOptions tinyModel() {
  api::LoadOptions options;
  options.model_path = tinyModelPath().toStdString();
  return options;
}

inline QStringList imagesIn(const QString& dir) {
  return QDir(dir).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
}

// Settings kept in `dir`/settings.ini, pictures saved in `dir`/out.
inline std::unique_ptr<ui::SettingsStore> settingsIn(const QTemporaryDir& dir) {
  auto store = std::make_unique<ui::SettingsStore>(dir.filePath(QStringLiteral("settings.ini")));
  store->setOutputDir(dir.filePath(QStringLiteral("out")));
  return store;
}

// The main window on `store`, shown and on screen; null when it never got there.
inline std::unique_ptr<ui::MainWindow> shownWindow(ui::SettingsStore* store) {
  auto window = std::make_unique<ui::MainWindow>(store);
  window->show();
  if (!QTest::qWaitForWindowExposed(window.get())) return nullptr;
  return window;
}

}  // namespace latent::test
