#include "ui/settings_store.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

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
  s.beginGroup(QStringLiteral("model"));
  out.model.model_path = s.value("path").toString().toStdString();
  out.model.config_dir = s.value("configDir").toString().toStdString();
  out.model.device = s.value("device", QString::fromStdString(defaults.model.device)).toString().toStdString();
  out.model.dtype = s.value("dtype", QString::fromStdString(defaults.model.dtype)).toString().toStdString();
  s.endGroup();
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
