#include "ui/parameters_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QToolButton>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "core/pipeline/engine.h"
#include "ui/path_choice.h"
#include "ui/sampler_items.h"

namespace latent::ui {
namespace {

// Image sides must be multiples of 8 (the VAE's downscale): others are rounded on leaving the field.
class MultipleOfEightSpinBox : public QSpinBox {
 public:
  using QSpinBox::QSpinBox;

 protected:
  QValidator::State validate(QString& text, int& pos) const override {
    const QValidator::State state = QSpinBox::validate(text, pos);
    if (state == QValidator::Acceptable && valueFromText(text) % 8 != 0) return QValidator::Intermediate;
    return state;
  }
  void fixup(QString& text) const override {
    bool ok = false;
    const int value = locale().toInt(text, &ok);
    if (ok) text = textFromValue(qBound(minimum(), (value + 4) / 8 * 8, maximum()));
  }
};

constexpr int kGuidanceSliderScale = 2;  // the slider moves in steps of 0.5

struct SizePreset {
  int width;
  int height;
  const char* note;
};
// Sizes near each class's training resolution, the aspect ratios people use most.
constexpr SizePreset kSd512Presets[] = {
    {512, 512, QT_TRANSLATE_NOOP("ParametersPanel", "square")},    {512, 768, QT_TRANSLATE_NOOP("ParametersPanel", "portrait")},
    {768, 512, QT_TRANSLATE_NOOP("ParametersPanel", "landscape")}, {640, 640, QT_TRANSLATE_NOOP("ParametersPanel", "square")},
    {768, 768, QT_TRANSLATE_NOOP("ParametersPanel", "square")},    {384, 384, QT_TRANSLATE_NOOP("ParametersPanel", "quick")},
    {256, 256, QT_TRANSLATE_NOOP("ParametersPanel", "quick")},
};
constexpr SizePreset kSd768Presets[] = {
    {768, 768, QT_TRANSLATE_NOOP("ParametersPanel", "square")},    {640, 896, QT_TRANSLATE_NOOP("ParametersPanel", "portrait")},
    {896, 640, QT_TRANSLATE_NOOP("ParametersPanel", "landscape")}, {576, 1024, QT_TRANSLATE_NOOP("ParametersPanel", "tall")},
    {1024, 576, QT_TRANSLATE_NOOP("ParametersPanel", "wide")},     {512, 512, QT_TRANSLATE_NOOP("ParametersPanel", "quick")},
};
// SDXL's training buckets: about a million pixels each.
constexpr SizePreset kSdxlPresets[] = {
    {1024, 1024, QT_TRANSLATE_NOOP("ParametersPanel", "square")},   {896, 1152, QT_TRANSLATE_NOOP("ParametersPanel", "portrait")},
    {1152, 896, QT_TRANSLATE_NOOP("ParametersPanel", "landscape")}, {832, 1216, QT_TRANSLATE_NOOP("ParametersPanel", "portrait")},
    {1216, 832, QT_TRANSLATE_NOOP("ParametersPanel", "landscape")}, {768, 1344, QT_TRANSLATE_NOOP("ParametersPanel", "tall")},
    {1344, 768, QT_TRANSLATE_NOOP("ParametersPanel", "wide")},      {640, 1536, QT_TRANSLATE_NOOP("ParametersPanel", "tall")},
    {1536, 640, QT_TRANSLATE_NOOP("ParametersPanel", "wide")},
};

// The presets of the class a model's own side belongs to.
std::vector<SizePreset> presetsFor(const pipeline::ModelDefaults& defaults) {
  const int side = std::max(defaults.width, defaults.height);
  if (side >= 1024) return {std::begin(kSdxlPresets), std::end(kSdxlPresets)};
  if (side >= 768) return {std::begin(kSd768Presets), std::end(kSd768Presets)};
  return {std::begin(kSd512Presets), std::end(kSd512Presets)};
}

struct PreviewChoice {
  const char* label;
  bool approximate;
  int vaeEvery;
};
constexpr PreviewChoice kPreviewChoices[] = {
    {QT_TRANSLATE_NOOP("ParametersPanel", "Automatic (about a tenth of the time)"), true, -1},
    {QT_TRANSLATE_NOOP("ParametersPanel", "Full decode every step"), true, 1},
    {QT_TRANSLATE_NOOP("ParametersPanel", "Full decode every 5 steps"), true, 5},
    {QT_TRANSLATE_NOOP("ParametersPanel", "Full decode every 10 steps"), true, 10},
    {QT_TRANSLATE_NOOP("ParametersPanel", "Approximation only"), true, 0},
    {QT_TRANSLATE_NOOP("ParametersPanel", "Off"), false, 0},
};

}  // namespace

ParametersPanel::ParametersPanel(QWidget* parent)
    : QWidget(parent),
      m_stepsSlider(new QSlider(Qt::Horizontal, this)),
      m_steps(new QSpinBox(this)),
      m_guidanceSlider(new QSlider(Qt::Horizontal, this)),
      m_guidance(new QDoubleSpinBox(this)),
      m_seed(new QLineEdit(this)),
      m_randomSeed(new QToolButton(this)),
      m_seedLock(new QToolButton(this)),
      m_sizePreset(new QComboBox(this)),
      m_width(new MultipleOfEightSpinBox(this)),
      m_height(new MultipleOfEightSpinBox(this)),
      m_sampler(new QComboBox(this)),
      m_batchCount(new QSpinBox(this)),
      m_batchSize(new QSpinBox(this)),
      m_clipSkip(new QSpinBox(this)),
      m_preview(new QComboBox(this)),
      m_fast(new QToolButton(this)),
      m_stepCache(new QCheckBox(tr("Faster, approximate"), this)),
      m_vae(new PathChoice(tr("The model's own"), tr("Open a VAE or tiny autoencoder (.safetensors)"),
                           tr("Open a VAE or tiny autoencoder diffusers folder"),
                           tr("Autoencoders (*.safetensors);;All files (*)"), this)),
      m_previewVae(new PathChoice(tr("None"), tr("Open a tiny autoencoder (TAESD, .safetensors)"),
                                  tr("Open a tiny autoencoder (TAESD) diffusers folder"),
                                  tr("Autoencoders (*.safetensors);;All files (*)"), this)) {
  m_steps->setObjectName(QStringLiteral("steps"));
  m_guidance->setObjectName(QStringLiteral("guidance"));
  m_seed->setObjectName(QStringLiteral("seed"));
  m_sampler->setObjectName(QStringLiteral("sampler"));
  m_width->setObjectName(QStringLiteral("width"));
  m_height->setObjectName(QStringLiteral("height"));
  m_batchCount->setObjectName(QStringLiteral("batchCount"));
  m_batchSize->setObjectName(QStringLiteral("batchSize"));
  m_clipSkip->setObjectName(QStringLiteral("clipSkip"));
  m_preview->setObjectName(QStringLiteral("previewCadence"));
  m_seedLock->setObjectName(QStringLiteral("seedLock"));
  m_randomSeed->setObjectName(QStringLiteral("randomSeed"));
  m_fast->setObjectName(QStringLiteral("fastPreset"));
  m_stepCache->setObjectName(QStringLiteral("stepCache"));
  m_vae->combo()->setObjectName(QStringLiteral("vae"));
  m_previewVae->combo()->setObjectName(QStringLiteral("previewVae"));

  m_stepsSlider->setRange(1, 150);
  m_steps->setRange(1, 150);
  m_guidanceSlider->setRange(1 * kGuidanceSliderScale, 30 * kGuidanceSliderScale);
  m_guidance->setRange(1.0, 30.0);
  m_guidance->setSingleStep(0.5);
  m_guidance->setDecimals(2);
  connect(m_stepsSlider, &QSlider::valueChanged, m_steps, &QSpinBox::setValue);
  connect(m_steps, qOverload<int>(&QSpinBox::valueChanged), m_stepsSlider, &QSlider::setValue);
  connect(m_guidanceSlider, &QSlider::valueChanged, this, [this](int v) {
    if (std::lround(m_guidance->value() * kGuidanceSliderScale) != v)
      m_guidance->setValue(double(v) / kGuidanceSliderScale);
  });
  connect(m_guidance, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double v) {
    const QSignalBlocker block(m_guidanceSlider);
    m_guidanceSlider->setValue(int(std::lround(v * kGuidanceSliderScale)));
  });

  m_seed->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("\\d{1,20}")), m_seed));
  m_randomSeed->setText(tr("Random"));
  m_randomSeed->setToolTip(tr("Draw a new random seed"));
  m_randomSeed->setIcon(QIcon(QStringLiteral(":/icons/dice.png")));
  m_seedLock->setCheckable(true);
  m_seedLock->setText(tr("Lock"));
  m_seedLock->setIcon(QIcon(QStringLiteral(":/icons/lock.png")));
  m_seedLock->setToolTip(tr("Locked: keep this seed. Unlocked: a new random seed for every generation."));
  connect(m_randomSeed, &QToolButton::clicked, this, &ParametersPanel::randomizeSeed);

  for (QSpinBox* side : {m_width, m_height}) {
    side->setRange(64, 2048);
    side->setSingleStep(8);
    side->setSuffix(QStringLiteral(" px"));
    connect(side, qOverload<int>(&QSpinBox::valueChanged), this, &ParametersPanel::syncPresetToSize);
  }
  m_sizePreset->setObjectName(QStringLiteral("sizePreset"));
  connect(m_sizePreset, qOverload<int>(&QComboBox::activated), this, [this](int index) {
    const QSize size = m_sizePreset->itemData(index).toSize();
    if (!size.isValid()) return;
    m_width->setValue(size.width());
    m_height->setValue(size.height());
  });
  buildSizePresets(m_modelDefaults);

  addSamplerItems(m_sampler);

  m_batchCount->setRange(1, 100);
  m_batchCount->setToolTip(tr("Images made one after another, with seeds seed, seed+1, ..."));
  m_batchSize->setRange(1, 16);
  m_batchSize->setToolTip(tr("Images made together in one run (needs more memory)"));
  // Counted as the request and other programs count it: 1 = the text encoder's last layer,
  // 2 = the one before.
  m_clipSkip->setRange(1, 12);
  m_clipSkip->setToolTip(tr("Read the prompt from an earlier layer of the text encoder "
                            "(1 = last layer; 2 suits many anime-style models)"));
  m_fast->setText(tr("Fast"));
  m_fast->setToolTip(tr("The few-step preset for this model: LCM, 4 steps, no guidance for an LCM-LoRA "
                        "or plain model; the sampler its scheduler needs for LCM and TCD models"));
  connect(m_fast, &QToolButton::clicked, this, &ParametersPanel::fastPresetWanted);
  m_stepCache->setToolTip(tr("Run the whole network only every few steps and reuse its deep features in "
                             "between (DeepCache): about twice as fast, the picture a little different"));
  m_vae->setToolTip(tr("Decode the picture (and encode a starting picture) with another autoencoder: "
                       "a full VAE or a tiny one (TAESD)"));
  m_previewVae->setToolTip(tr("A tiny autoencoder (TAESD) that decodes a sharp preview after every step, "
                              "for a few percent of a step"));
  connect(m_vae, &PathChoice::chosen, this, &ParametersPanel::autoencoderChosen);
  connect(m_previewVae, &PathChoice::chosen, this, &ParametersPanel::autoencoderChosen);
  for (const PreviewChoice& choice : kPreviewChoices)
    m_preview->addItem(tr(choice.label), QVariantList{choice.approximate, choice.vaeEvery});

  auto* layout = new QFormLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto row = [this](std::initializer_list<QWidget*> widgets) {
    auto* box = new QWidget(this);
    auto* h = new QHBoxLayout(box);
    h->setContentsMargins(0, 0, 0, 0);
    for (QWidget* w : widgets) h->addWidget(w, qobject_cast<QSlider*>(w) || qobject_cast<QLineEdit*>(w) || qobject_cast<QComboBox*>(w) ? 1 : 0);
    return box;
  };
  layout->addRow(tr("S&teps"), row({m_stepsSlider, m_steps}));
  layout->addRow(tr("&Guidance"), row({m_guidanceSlider, m_guidance}));
  layout->addRow(tr("S&eed"), row({m_seed, m_randomSeed, m_seedLock}));
  layout->addRow(tr("Si&ze"), m_sizePreset);
  auto* times = new QLabel(QStringLiteral("×"), this);
  layout->addRow(QString(), row({m_width, times, m_height}));
  layout->addRow(tr("Sa&mpler"), row({m_sampler, m_fast}));
  layout->addRow(QString(), m_stepCache);
  layout->addRow(tr("&Batch"), row({m_batchCount, new QLabel(tr("runs of"), this), m_batchSize, new QLabel(tr("images"), this)}));
  layout->addRow(tr("C&lip skip"), m_clipSkip);
  layout->addRow(tr("Pre&view"), m_preview);
  layout->addRow(tr("Preview &decoder"), m_previewVae);
  layout->addRow(tr("V&AE"), m_vae);

  setRequest(api::GenerationRequest{});
  setSeed(QRandomGenerator::global()->bounded(quint64(1) << 32));

  const auto emitChanged = [this] { Q_EMIT changed(); };
  connect(m_steps, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_guidance, qOverload<double>(&QDoubleSpinBox::valueChanged), this, emitChanged);
  connect(m_seed, &QLineEdit::textChanged, this, emitChanged);
  connect(m_seedLock, &QToolButton::toggled, this, emitChanged);
  connect(m_width, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_height, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_sampler, qOverload<int>(&QComboBox::currentIndexChanged), this, emitChanged);
  connect(m_batchCount, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_batchSize, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_clipSkip, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_stepCache, &QCheckBox::toggled, this, emitChanged);
  connect(m_preview, qOverload<int>(&QComboBox::currentIndexChanged), this, emitChanged);
  connect(m_vae, &PathChoice::changed, this, emitChanged);
  connect(m_previewVae, &PathChoice::changed, this, emitChanged);
}

void ParametersPanel::buildSizePresets(const pipeline::ModelDefaults& defaults) {
  const QSignalBlocker block(m_sizePreset);
  m_sizePreset->clear();
  std::vector<SizePreset> presets = presetsFor(defaults);
  const auto own = std::find_if(presets.begin(), presets.end(), [&](const SizePreset& preset) {
    return preset.width == defaults.width && preset.height == defaults.height;
  });
  if (own == presets.end()) presets.insert(presets.begin(), {defaults.width, defaults.height, nullptr});
  else std::rotate(presets.begin(), own, own + 1);
  for (const SizePreset& preset : presets) {
    const bool isOwn = preset.width == defaults.width && preset.height == defaults.height;
    const QString note = isOwn ? tr("the model's size") : tr(preset.note);
    m_sizePreset->addItem(tr("%1 × %2 (%3)").arg(preset.width).arg(preset.height).arg(note),
                          QSize(preset.width, preset.height));
  }
  m_sizePreset->addItem(tr("Custom"), QSize());
  syncPresetToSize();
}

bool ParametersPanel::isPresetSize(int width, int height) const {
  return m_sizePreset->findData(QSize(width, height)) >= 0;
}

void ParametersPanel::setModelDefaults(const pipeline::ModelDefaults& defaults, bool adopt) {
  const pipeline::ModelDefaults previous = m_modelDefaults;
  if (defaults.width == previous.width && defaults.height == previous.height &&
      defaults.guidance_scale == previous.guidance_scale)
    return;
  m_modelDefaults = defaults;
  const bool previousSize = m_width->value() == previous.width && m_height->value() == previous.height;
  buildSizePresets(defaults);
  if (!adopt) return;
  if (previousSize || !isPresetSize(m_width->value(), m_height->value())) {
    m_width->setValue(defaults.width);
    m_height->setValue(defaults.height);
  }
  if (m_guidance->value() == previous.guidance_scale) m_guidance->setValue(defaults.guidance_scale);
}

void ParametersPanel::syncPresetToSize() {
  const int index = m_sizePreset->findData(QSize(m_width->value(), m_height->value()));
  m_sizePreset->setCurrentIndex(index >= 0 ? index : m_sizePreset->count() - 1);
}

void ParametersPanel::selectPreview(bool approximate, int vaeEvery) {
  if (!approximate && vaeEvery != 0) approximate = false;
  const QVariantList wanted{approximate, vaeEvery};
  int index = m_preview->findData(wanted);
  if (index < 0) {
    m_preview->addItem(tr("Full decode every %1 steps").arg(vaeEvery), wanted);
    index = m_preview->count() - 1;
  }
  m_preview->setCurrentIndex(index);
}

api::GenerationRequest ParametersPanel::request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  r.sampling.steps = m_steps->value();
  r.sampling.guidance_scale = m_guidance->value();
  r.sampling.seed = seed();
  r.sampling.sampler = m_sampler->currentData().toString().toStdString();
  r.sampling.clip_skip = m_clipSkip->value();
  r.sampling.step_cache = m_stepCache->isChecked() ? m_stepCacheInterval : 1;
  r.size.width = m_width->value();
  r.size.height = m_height->value();
  r.size.batch_size = m_batchSize->value();
  const QVariantList preview = m_preview->currentData().toList();
  if (preview.size() == 2) {
    r.preview.approximate = preview[0].toBool();
    r.preview.vae_every = preview[1].toInt();
  }
  r.preview.tiny_vae = m_previewVae->path().toStdString();
  r.vae = m_vae->path().toStdString();
  return r;
}

void ParametersPanel::setRequest(const api::GenerationRequest& r) {
  m_steps->setValue(r.sampling.steps);
  m_guidance->setValue(r.sampling.guidance_scale);
  setSeed(r.sampling.seed);
  m_width->setValue(r.size.width - r.size.width % 8);
  m_height->setValue(r.size.height - r.size.height % 8);
  syncPresetToSize();
  const int sampler = m_sampler->findData(QString::fromStdString(r.sampling.sampler));
  if (sampler >= 0) m_sampler->setCurrentIndex(sampler);
  m_batchSize->setValue(r.size.batch_size);
  m_clipSkip->setValue(r.sampling.clip_skip);
  if (r.sampling.step_cache > 1) m_stepCacheInterval = r.sampling.step_cache;
  m_stepCache->setChecked(r.sampling.step_cache > 1);
  selectPreview(r.preview.approximate, r.preview.vae_every);
  m_previewVae->setPath(QString::fromStdString(r.preview.tiny_vae));
  m_vae->setPath(QString::fromStdString(r.vae));
}

void ParametersPanel::applyFastPreset(const pipeline::FastPreset& preset) {
  const int sampler = m_sampler->findData(QString::fromStdString(preset.sampler));
  if (sampler >= 0) m_sampler->setCurrentIndex(sampler);
  m_steps->setValue(preset.steps);
  m_guidance->setValue(preset.guidance_scale);
}

uint64_t ParametersPanel::seed() const { return m_seed->text().toULongLong(); }

void ParametersPanel::setSeed(uint64_t seed) { m_seed->setText(QString::number(seed)); }

bool ParametersPanel::seedLocked() const { return m_seedLock->isChecked(); }

void ParametersPanel::setSeedLocked(bool locked) { m_seedLock->setChecked(locked); }

uint64_t ParametersPanel::takeSeed() {
  if (!seedLocked() || m_seed->text().isEmpty()) randomizeSeed();
  return seed();
}

void ParametersPanel::randomizeSeed() { setSeed(QRandomGenerator::global()->bounded(quint64(1) << 32)); }

int ParametersPanel::batchCount() const { return m_batchCount->value(); }

void ParametersPanel::setBatchCount(int count) { m_batchCount->setValue(count); }

}  // namespace latent::ui
