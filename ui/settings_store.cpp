#include "ui/settings_store.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

#include <algorithm>

#include "core/util/starter_model.h"
#include "ui/control_settings.h"
#include "ui/scrambled_text.h"

namespace latent::ui {

SettingsStore::SettingsStore() : m_settings(std::make_unique<QSettings>()) {}

SettingsStore::SettingsStore(const QString& iniFile)
    : m_settings(std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

SettingsStore::~SettingsStore() = default;

GenerationSettings SettingsStore::generation() const {
  const GenerationSettings defaults;
  const api::GenerationRequest& d = defaults.request;
  QSettings& s = *m_settings;
  GenerationSettings out;
  api::GenerationRequest& r = out.request;
  s.beginGroup(QStringLiteral("generation"));
  r.prompt = s.value("prompt").toString().toStdString();
  r.negative_prompt = s.value("negativePrompt").toString().toStdString();
  r.size.width = s.value("width", d.size.width).toInt();
  r.size.height = s.value("height", d.size.height).toInt();
  r.sampling.steps = s.value("steps", d.sampling.steps).toInt();
  r.sampling.guidance_scale = s.value("guidance", d.sampling.guidance_scale).toDouble();
  r.sampling.seed = s.value("seed", QString::number(d.sampling.seed)).toString().toULongLong();
  r.sampling.sampler = s.value("sampler", QString::fromStdString(d.sampling.sampler)).toString().toStdString();
  r.size.batch_size = s.value("batchSize", d.size.batch_size).toInt();
  // Clip skip is kept as the web UI counts it (1 = the last layer) under "webUiClipSkip".
  // Settings written before kept diffusers' count (0 = the last layer) under "clipSkip":
  // read once here, converted, and replaced by setGeneration.
  if (s.contains("webUiClipSkip")) r.sampling.clip_skip = s.value("webUiClipSkip").toInt();
  else if (s.contains("clipSkip")) r.sampling.clip_skip = s.value("clipSkip").toInt() + 1;
  r.sampling.step_cache = std::max(1, s.value("stepCache", d.sampling.step_cache).toInt());
  r.preview.approximate = s.value("approximatePreview", d.preview.approximate).toBool();
  r.preview.vae_every = s.value("vaePreviewEvery", d.preview.vae_every).toInt();
  r.refiner.path = s.value("refiner").toString().toStdString();
  r.refiner.switch_at = s.value("refinerSwitch", d.refiner.switch_at).toDouble();
  out.seedLocked = s.value("seedLocked", defaults.seedLocked).toBool();
  out.batchCount = s.value("batchCount", defaults.batchCount).toInt();
  s.endGroup();
  s.beginGroup(QStringLiteral("lora"));
  r.loras.folder = s.value("folder").toString().toStdString();
  r.loras.allow_partial = s.value("partial", d.loras.allow_partial).toBool();
  r.loras.adapters.clear();
  const int loraCount = s.beginReadArray(QStringLiteral("checked"));
  for (int i = 0; i < loraCount; ++i) {
    s.setArrayIndex(i);
    r.loras.adapters.push_back({s.value("path").toString().toStdString(), s.value("multiplier", 1.0).toDouble()});
  }
  s.endArray();
  s.endGroup();
  s.beginGroup(QStringLiteral("image"));
  const int mode = s.value("mode", int(defaults.imageMode)).toInt();
  out.imageMode = mode >= int(ImageMode::Text) && mode <= int(ImageMode::Inpaint) ? ImageMode(mode) : defaults.imageMode;
  out.initImagePath = s.value("picture").toString();
  out.brushSize = s.value("brushSize", defaults.brushSize).toInt();
  r.init.strength = s.value("strength", d.init.strength).toDouble();
  r.init.resize_mode = s.value("resizeMode", QString::fromStdString(d.init.resize_mode)).toString().toStdString();
  r.mask.blur = s.value("maskBlur", d.mask.blur).toInt();
  r.mask.only_masked = s.value("inpaintFullRes", d.mask.only_masked).toBool();
  r.mask.only_masked_padding = s.value("inpaintPadding", d.mask.only_masked_padding).toInt();
  s.endGroup();
  s.beginGroup(QStringLiteral("hires"));
  r.second_pass.enabled = s.value("enabled", d.second_pass.enabled).toBool();
  r.second_pass.upscaler = s.value("upscaler", QString::fromStdString(d.second_pass.upscaler)).toString().toStdString();
  r.second_pass.scale = s.value("scale", d.second_pass.scale).toDouble();
  r.second_pass.width = s.value("width", d.second_pass.width).toInt();
  r.second_pass.height = s.value("height", d.second_pass.height).toInt();
  r.second_pass.steps = s.value("steps", d.second_pass.steps).toInt();
  r.second_pass.denoising_strength = s.value("strength", d.second_pass.denoising_strength).toDouble();
  r.second_pass.sampler = s.value("sampler").toString().toStdString();
  r.second_pass.prompt = s.value("prompt").toString().toStdString();
  r.second_pass.negative_prompt = s.value("negativePrompt").toString().toStdString();
  out.upscalerFolder = s.value("upscalerFolder").toString();
  s.endGroup();
  s.beginGroup(QStringLiteral("runOn"));
  out.runOnServer = s.value("server", false).toBool();
  out.server.url = s.value("url").toString();
  out.server.user = s.value("user").toString();
  out.server.password = unscramble(s.value("password").toString());
  out.server.model = s.value("model").toString();
  s.endGroup();
  readControlUnits(s, r);
  s.beginGroup(QStringLiteral("model"));
  out.model.model_path = s.value("path").toString().toStdString();
  out.model.config_dir = s.value("configDir").toString().toStdString();
  out.model.device = s.value("device", QString::fromStdString(defaults.model.device)).toString().toStdString();
  out.model.dtype = s.value("dtype", QString::fromStdString(defaults.model.dtype)).toString().toStdString();
  out.model.weights = s.value("weights", QString::fromStdString(defaults.model.weights)).toString().toStdString();
  s.endGroup();
  // The first start, with no model chosen yet: the starter model draws, so the form opens
  // at its size with a caption it knows, and Generate gives a real picture at once.
  if (!s.contains(QStringLiteral("generation/width")) && out.model.model_path.empty() &&
      util::starter_model_available()) {
    r.size.width = r.size.height = util::kStarterModelSide;
    if (r.prompt.empty()) r.prompt = util::kStarterExamplePrompt;
  }
  return out;
}

void SettingsStore::setGeneration(const GenerationSettings& settings) {
  const api::GenerationRequest& r = settings.request;
  QSettings& s = *m_settings;
  s.beginGroup(QStringLiteral("generation"));
  s.setValue("prompt", QString::fromStdString(r.prompt));
  s.setValue("negativePrompt", QString::fromStdString(r.negative_prompt));
  s.setValue("width", r.size.width);
  s.setValue("height", r.size.height);
  s.setValue("steps", r.sampling.steps);
  s.setValue("guidance", r.sampling.guidance_scale);
  s.setValue("seed", QString::number(r.sampling.seed));  // 64-bit: kept exact as text
  s.setValue("sampler", QString::fromStdString(r.sampling.sampler));
  s.setValue("batchSize", r.size.batch_size);
  s.setValue("webUiClipSkip", r.sampling.clip_skip);
  s.remove("clipSkip");  // the old count (see generation()), converted now
  s.setValue("stepCache", r.sampling.step_cache);
  s.setValue("approximatePreview", r.preview.approximate);
  s.setValue("vaePreviewEvery", r.preview.vae_every);
  s.setValue("refiner", QString::fromStdString(r.refiner.path));
  s.setValue("refinerSwitch", r.refiner.switch_at);
  s.setValue("seedLocked", settings.seedLocked);
  s.setValue("batchCount", settings.batchCount);
  s.endGroup();
  s.beginGroup(QStringLiteral("lora"));
  s.setValue("folder", QString::fromStdString(r.loras.folder));
  s.setValue("partial", r.loras.allow_partial);
  s.remove(QStringLiteral("checked"));  // a shorter list must not keep the old tail
  const std::vector<api::LoraSpec>& adapters = r.loras.adapters;
  s.beginWriteArray(QStringLiteral("checked"), static_cast<int>(adapters.size()));
  for (int i = 0; i < static_cast<int>(adapters.size()); ++i) {
    s.setArrayIndex(i);
    s.setValue("path", QString::fromStdString(adapters[i].path));
    s.setValue("multiplier", adapters[i].multiplier);
  }
  s.endArray();
  s.endGroup();
  s.beginGroup(QStringLiteral("image"));
  s.setValue("mode", int(settings.imageMode));
  s.setValue("picture", settings.initImagePath);
  s.setValue("brushSize", settings.brushSize);
  s.setValue("strength", r.init.strength);
  s.setValue("resizeMode", QString::fromStdString(r.init.resize_mode));
  s.setValue("maskBlur", r.mask.blur);
  s.setValue("inpaintFullRes", r.mask.only_masked);
  s.setValue("inpaintPadding", r.mask.only_masked_padding);
  s.endGroup();
  s.beginGroup(QStringLiteral("hires"));
  s.setValue("enabled", r.second_pass.enabled);
  s.setValue("upscaler", QString::fromStdString(r.second_pass.upscaler));
  s.setValue("scale", r.second_pass.scale);
  s.setValue("width", r.second_pass.width);
  s.setValue("height", r.second_pass.height);
  s.setValue("steps", r.second_pass.steps);
  s.setValue("strength", r.second_pass.denoising_strength);
  s.setValue("sampler", QString::fromStdString(r.second_pass.sampler));
  s.setValue("prompt", QString::fromStdString(r.second_pass.prompt));
  s.setValue("negativePrompt", QString::fromStdString(r.second_pass.negative_prompt));
  s.setValue("upscalerFolder", settings.upscalerFolder);
  s.endGroup();
  s.beginGroup(QStringLiteral("runOn"));
  s.setValue("server", settings.runOnServer);
  s.setValue("url", settings.server.url);
  s.setValue("user", settings.server.user);
  s.setValue("password", scramble(settings.server.password));
  s.setValue("model", settings.server.model);
  s.endGroup();
  writeControlUnits(s, r);
  s.beginGroup(QStringLiteral("model"));
  s.setValue("path", QString::fromStdString(settings.model.model_path));
  s.setValue("configDir", QString::fromStdString(settings.model.config_dir));
  s.setValue("device", QString::fromStdString(settings.model.device));
  s.setValue("dtype", QString::fromStdString(settings.model.dtype));
  s.setValue("weights", QString::fromStdString(settings.model.weights));
  s.endGroup();
}

QStringList SettingsStore::recentModels() const {
  return m_settings->value(QStringLiteral("model/recent")).toStringList();
}

void SettingsStore::addRecentModel(const QString& path) { addRecent(QStringLiteral("model/recent"), path); }

QStringList SettingsStore::recentRefiners() const {
  return m_settings->value(QStringLiteral("model/recentRefiners")).toStringList();
}

void SettingsStore::addRecentRefiner(const QString& path) { addRecent(QStringLiteral("model/recentRefiners"), path); }

QStringList SettingsStore::recentAutoencoders() const {
  return m_settings->value(QStringLiteral("model/recentAutoencoders")).toStringList();
}

void SettingsStore::addRecentAutoencoder(const QString& path) {
  addRecent(QStringLiteral("model/recentAutoencoders"), path);
}

namespace {

// A settings group per model path; paths hold characters QSettings keys may not.
QString modelGroup(const QString& modelPath) {
  return QStringLiteral("perModel/") +
         QString::fromLatin1(modelPath.toUtf8().toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

}  // namespace

ModelChoices SettingsStore::modelChoices(const QString& modelPath) const {
  QSettings& s = *m_settings;
  s.beginGroup(modelGroup(modelPath));
  ModelChoices choices{s.value("prediction").toString(), s.value("vae").toString(), s.value("previewVae").toString()};
  s.endGroup();
  return choices;
}

void SettingsStore::setModelChoices(const QString& modelPath, const ModelChoices& choices) {
  if (modelPath.isEmpty()) return;
  QSettings& s = *m_settings;
  if (choices == ModelChoices{}) {
    s.remove(modelGroup(modelPath));  // nothing to remember: no entry
    return;
  }
  s.beginGroup(modelGroup(modelPath));
  s.setValue("prediction", choices.prediction);
  s.setValue("vae", choices.vae);
  s.setValue("previewVae", choices.previewVae);
  s.endGroup();
}

void SettingsStore::addRecent(const QString& key, const QString& path) {
  if (path.isEmpty()) return;
  QStringList recent = m_settings->value(key).toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kMaxRecentModels) recent.removeLast();
  m_settings->setValue(key, recent);
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

QString SettingsStore::wildcardsDir() const { return m_settings->value(QStringLiteral("prompt/wildcards")).toString(); }

void SettingsStore::setWildcardsDir(const QString& dir) { m_settings->setValue(QStringLiteral("prompt/wildcards"), dir); }

QString SettingsStore::stylesFile() const {
  return m_settings->value(QStringLiteral("prompt/styles-file"), defaultStylesFile()).toString();
}

void SettingsStore::setStylesFile(const QString& path) {
  m_settings->setValue(QStringLiteral("prompt/styles-file"), path);
}

QString SettingsStore::defaultStylesFile() {
  const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
  return QDir(data.isEmpty() ? QDir::homePath() : data).filePath(QStringLiteral("styles.csv"));
}

QStringList SettingsStore::chosenStyles() const {
  return m_settings->value(QStringLiteral("prompt/styles")).toStringList();
}

void SettingsStore::setChosenStyles(const QStringList& names) {
  m_settings->setValue(QStringLiteral("prompt/styles"), names);
}

QByteArray SettingsStore::layout(const QString& key) const {
  return m_settings->value(QStringLiteral("layout/") + key).toByteArray();
}

void SettingsStore::setLayout(const QString& key, const QByteArray& state) {
  m_settings->setValue(QStringLiteral("layout/") + key, state);
}

void SettingsStore::sync() { m_settings->sync(); }

}  // namespace latent::ui
