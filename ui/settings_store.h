#pragma once

// Persistent settings: the form, the recent models, the output folder and the
// window layout. Backed by QSettings; tests give it a file of their own.

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <memory>

#include "ui/generation_settings.h"

class QSettings;

namespace latent::ui {

// What is remembered for each model apart: what a Stable Diffusion 2.x single file
// predicts, the VAE and the preview decoder chosen for it. Empty = the model's own.
struct ModelChoices {
  QString prediction;  // LoadOptions::prediction
  QString vae;         // GenerationRequest::vae
  QString previewVae;  // PreviewSettings::tiny_vae

  bool operator==(const ModelChoices& other) const {
    return prediction == other.prediction && vae == other.vae && previewVae == other.previewVae;
  }
};

class SettingsStore {
 public:
  SettingsStore();                                  // the application's own settings
  explicit SettingsStore(const QString& iniFile);  // a settings file of its own
  ~SettingsStore();
  SettingsStore(const SettingsStore&) = delete;
  SettingsStore& operator=(const SettingsStore&) = delete;

  GenerationSettings generation() const;
  void setGeneration(const GenerationSettings& settings);

  QStringList recentModels() const;  // most recent first
  void addRecentModel(const QString& path);
  QStringList recentRefiners() const;  // SDXL refiners, most recent first
  void addRecentRefiner(const QString& path);
  QStringList recentAutoencoders() const;  // VAEs and tiny autoencoders, most recent first
  void addRecentAutoencoder(const QString& path);

  ModelChoices modelChoices(const QString& modelPath) const;
  void setModelChoices(const QString& modelPath, const ModelChoices& choices);

  QString outputDir() const;
  void setOutputDir(const QString& dir);
  static QString defaultOutputDir();

  // The wildcards folder (--wildcards; empty = none), the styles file (--styles-file; by
  // default styles.csv in the application's data folder) and the styles chosen (--style).
  QString wildcardsDir() const;
  void setWildcardsDir(const QString& dir);
  QString stylesFile() const;
  void setStylesFile(const QString& path);
  static QString defaultStylesFile();
  QStringList chosenStyles() const;
  void setChosenStyles(const QStringList& names);

  QByteArray layout(const QString& key) const;
  void setLayout(const QString& key, const QByteArray& state);

  void sync();

  static constexpr int kMaxRecentModels = 10;

 private:
  void addRecent(const QString& key, const QString& path);

  std::unique_ptr<QSettings> m_settings;
};

}  // namespace latent::ui
