#include "ui/settings_store.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

#include "core/util/starter_model.h"

namespace latent::ui {

SettingsStore::SettingsStore() : m_settings(std::make_unique<QSettings>()) {}

SettingsStore::SettingsStore(const QString& iniFile)
    : m_settings(std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

SettingsStore::~SettingsStore() = default;

GenerationSettings SettingsStore::generation() const {
  const GenerationSettings defaults;
  const pipeline::GenerationRequest& d = defaults.request;
  QSettings& s = *m_settings;
  GenerationSettings out;
  pipeline::GenerationRequest& r = out.request;
  s.beginGroup(QStringLiteral("generation"));
  r.prompt = s.value("prompt").toString().toStdString();
  r.negative_prompt = s.value("negativePrompt").toString().toStdString();
  r.width = s.value("width", d.width).toInt();
  r.height = s.value("height", d.height).toInt();
  r.steps = s.value("steps", d.steps).toInt();
  r.guidance_scale = s.value("guidance", d.guidance_scale).toDouble();
  r.seed = s.value("seed", QString::number(d.seed)).toString().toULongLong();
  r.sampler = s.value("sampler", QString::fromStdString(d.sampler)).toString().toStdString();
  r.batch_size = s.value("batchSize", d.batch_size).toInt();
  r.clip_skip = s.value("clipSkip", d.clip_skip).toInt();
  r.approximate_preview = s.value("approximatePreview", d.approximate_preview).toBool();
  r.vae_preview_every = s.value("vaePreviewEvery", d.vae_preview_every).toInt();
  out.seedLocked = s.value("seedLocked", defaults.seedLocked).toBool();
  out.batchCount = s.value("batchCount", defaults.batchCount).toInt();
  s.endGroup();
  s.beginGroup(QStringLiteral("lora"));
  r.lora_dir = s.value("folder").toString().toStdString();
  r.lora_partial = s.value("partial", d.lora_partial).toBool();
  r.loras.clear();
  const int loraCount = s.beginReadArray(QStringLiteral("checked"));
  for (int i = 0; i < loraCount; ++i) {
    s.setArrayIndex(i);
    r.loras.push_back({s.value("path").toString().toStdString(), s.value("multiplier", 1.0).toDouble()});
  }
  s.endArray();
  s.endGroup();
  s.beginGroup(QStringLiteral("image"));
  const int mode = s.value("mode", int(defaults.imageMode)).toInt();
  out.imageMode = mode >= int(ImageMode::Text) && mode <= int(ImageMode::Inpaint) ? ImageMode(mode) : defaults.imageMode;
  out.initImagePath = s.value("picture").toString();
  out.brushSize = s.value("brushSize", defaults.brushSize).toInt();
  r.strength = s.value("strength", d.strength).toDouble();
  r.resize_mode = s.value("resizeMode", QString::fromStdString(d.resize_mode)).toString().toStdString();
  r.mask_blur = s.value("maskBlur", d.mask_blur).toInt();
  r.inpaint_full_res = s.value("inpaintFullRes", d.inpaint_full_res).toBool();
  r.inpaint_full_res_padding = s.value("inpaintPadding", d.inpaint_full_res_padding).toInt();
  s.endGroup();
  s.beginGroup(QStringLiteral("model"));
  out.model.model_path = s.value("path").toString().toStdString();
  out.model.config_dir = s.value("configDir").toString().toStdString();
  out.model.device = s.value("device", QString::fromStdString(defaults.model.device)).toString().toStdString();
  out.model.dtype = s.value("dtype", QString::fromStdString(defaults.model.dtype)).toString().toStdString();
  s.endGroup();
  // The first start, with no model chosen yet: the starter model draws, so the form opens
  // at its size with a caption it knows, and Generate gives a real picture at once.
  if (!s.contains(QStringLiteral("generation/width")) && out.model.model_path.empty() &&
      util::starter_model_available()) {
    r.width = r.height = util::kStarterModelSide;
    if (r.prompt.empty()) r.prompt = util::kStarterExamplePrompt;
  }
  return out;
}

void SettingsStore::setGeneration(const GenerationSettings& settings) {
  const pipeline::GenerationRequest& r = settings.request;
  QSettings& s = *m_settings;
  s.beginGroup(QStringLiteral("generation"));
  s.setValue("prompt", QString::fromStdString(r.prompt));
  s.setValue("negativePrompt", QString::fromStdString(r.negative_prompt));
  s.setValue("width", r.width);
  s.setValue("height", r.height);
  s.setValue("steps", r.steps);
  s.setValue("guidance", r.guidance_scale);
  s.setValue("seed", QString::number(r.seed));  // 64-bit: kept exact as text
  s.setValue("sampler", QString::fromStdString(r.sampler));
  s.setValue("batchSize", r.batch_size);
  s.setValue("clipSkip", r.clip_skip);
  s.setValue("approximatePreview", r.approximate_preview);
  s.setValue("vaePreviewEvery", r.vae_preview_every);
  s.setValue("seedLocked", settings.seedLocked);
  s.setValue("batchCount", settings.batchCount);
  s.endGroup();
  s.beginGroup(QStringLiteral("lora"));
  s.setValue("folder", QString::fromStdString(r.lora_dir));
  s.setValue("partial", r.lora_partial);
  s.remove(QStringLiteral("checked"));  // a shorter list must not keep the old tail
  s.beginWriteArray(QStringLiteral("checked"), static_cast<int>(r.loras.size()));
  for (int i = 0; i < static_cast<int>(r.loras.size()); ++i) {
    s.setArrayIndex(i);
    s.setValue("path", QString::fromStdString(r.loras[i].path));
    s.setValue("multiplier", r.loras[i].multiplier);
  }
  s.endArray();
  s.endGroup();
  s.beginGroup(QStringLiteral("image"));
  s.setValue("mode", int(settings.imageMode));
  s.setValue("picture", settings.initImagePath);
  s.setValue("brushSize", settings.brushSize);
  s.setValue("strength", r.strength);
  s.setValue("resizeMode", QString::fromStdString(r.resize_mode));
  s.setValue("maskBlur", r.mask_blur);
  s.setValue("inpaintFullRes", r.inpaint_full_res);
  s.setValue("inpaintPadding", r.inpaint_full_res_padding);
  s.endGroup();
  s.beginGroup(QStringLiteral("model"));
  s.setValue("path", QString::fromStdString(settings.model.model_path));
  s.setValue("configDir", QString::fromStdString(settings.model.config_dir));
  s.setValue("device", QString::fromStdString(settings.model.device));
  s.setValue("dtype", QString::fromStdString(settings.model.dtype));
  s.endGroup();
}

QStringList SettingsStore::recentModels() const {
  return m_settings->value(QStringLiteral("model/recent")).toStringList();
}

void SettingsStore::addRecentModel(const QString& path) {
  if (path.isEmpty()) return;
  QStringList recent = recentModels();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kMaxRecentModels) recent.removeLast();
  m_settings->setValue(QStringLiteral("model/recent"), recent);
}

QString SettingsStore::outputDir() const {
  return m_settings->value(QStringLiteral("output/folder"), defaultOutputDir()).toString();
}

void SettingsStore::setOutputDir(const QString& dir) {
  m_settings->setValue(QStringLiteral("output/folder"), dir);
}

QString SettingsStore::defaultOutputDir() {
  QString pictures = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
  if (pictures.isEmpty()) pictures = QDir::homePath();
  return QDir(pictures).filePath(QStringLiteral("Latent Studio"));
}

QByteArray SettingsStore::layout(const QString& key) const {
  return m_settings->value(QStringLiteral("layout/") + key).toByteArray();
}

void SettingsStore::setLayout(const QString& key, const QByteArray& state) {
  m_settings->setValue(QStringLiteral("layout/") + key, state);
}

void SettingsStore::sync() { m_settings->sync(); }

}  // namespace latent::ui
