#pragma once

// Steps, guidance, seed, size, sampler, batch, preview cadence and the autoencoders: every
// setting of a request except the prompts and the model, and the "Fast" preset.

#include <QWidget>

#include "core/api/generation_request.h"
#include "core/pipeline/model_probe.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSlider;
class QSpinBox;
class QToolButton;

namespace latent::ui {

class PathChoice;

class ParametersPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ParametersPanel(QWidget* parent = nullptr);

  // `base` with this panel's fields filled in.
  api::GenerationRequest request(const api::GenerationRequest& base) const;
  void setRequest(const api::GenerationRequest& request);

  uint64_t seed() const;
  void setSeed(uint64_t seed);
  bool seedLocked() const;
  void setSeedLocked(bool locked);
  // The seed for the next generation: when unlocked, a fresh random one, shown in the field.
  uint64_t takeSeed();
  void randomizeSeed();

  // The size presets of the model's class (512², 768² or 1024² pictures), starting with the
  // model's own size. With `adopt`, the size and guidance follow the new model where they
  // were the previous model's defaults (or the size does not suit the new model at all);
  // settings the person chose stay. Nothing changes when the defaults are the same.
  void setModelDefaults(const pipeline::ModelDefaults& defaults, bool adopt);

  // Sets the sampler, steps and guidance of the few-step preset.
  void applyFastPreset(const pipeline::FastPreset& preset);

  int batchCount() const;
  void setBatchCount(int count);

  QSpinBox* stepsSpin() const { return m_steps; }
  QSlider* stepsSlider() const { return m_stepsSlider; }
  QDoubleSpinBox* guidanceSpin() const { return m_guidance; }
  QSlider* guidanceSlider() const { return m_guidanceSlider; }
  QLineEdit* seedEdit() const { return m_seed; }
  QComboBox* samplerCombo() const { return m_sampler; }
  QSpinBox* widthSpin() const { return m_width; }
  QSpinBox* heightSpin() const { return m_height; }
  QComboBox* previewCombo() const { return m_preview; }
  QComboBox* sizePresetCombo() const { return m_sizePreset; }
  QToolButton* fastButton() const { return m_fast; }
  // "Faster, approximate": the step cache (SamplingSettings::step_cache).
  QCheckBox* stepCacheCheck() const { return m_stepCache; }
  // GenerationRequest::vae: the autoencoder for the final picture ("" = the model's own).
  PathChoice* vaeChoice() const { return m_vae; }
  // PreviewSettings::tiny_vae: the tiny autoencoder decoding a preview every step.
  PathChoice* previewVaeChoice() const { return m_previewVae; }

 Q_SIGNALS:
  void changed();
  void fastPresetWanted();
  void autoencoderChosen(const QString& path);  // picked in a dialog, for the recent list

 private:
  void buildSizePresets(const pipeline::ModelDefaults& defaults);
  bool isPresetSize(int width, int height) const;
  void syncPresetToSize();
  void selectPreview(bool approximate, int vaeEvery);

  QSlider* m_stepsSlider;
  QSpinBox* m_steps;
  QSlider* m_guidanceSlider;
  QDoubleSpinBox* m_guidance;
  QLineEdit* m_seed;
  QToolButton* m_randomSeed;
  QToolButton* m_seedLock;
  QComboBox* m_sizePreset;
  QSpinBox* m_width;
  QSpinBox* m_height;
  QComboBox* m_sampler;
  QSpinBox* m_batchCount;
  QSpinBox* m_batchSize;
  QSpinBox* m_clipSkip;  // SamplingSettings::clip_skip, the web UI's count
  QComboBox* m_preview;
  QToolButton* m_fast;
  QCheckBox* m_stepCache;
  // The interval the check box turns on: 3, or the one of the settings last restored.
  int m_stepCacheInterval = 3;
  PathChoice* m_vae;
  PathChoice* m_previewVae;
  pipeline::ModelDefaults m_modelDefaults;  // of the model the presets are for
};

}  // namespace latent::ui
