// Settings persist: the store round-trips every field, and a new window comes back as the old one was left.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>

#include "core/util/starter_model.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::GenerationSettings;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

class TestSettingsStore : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void defaultsAreSensible();
  void roundTripsEverySetting();
  void convertsTheOldClipSkipCount();
  void recentModelsAreMostRecentFirstAndCapped();
  void windowComesBackAsItWasLeft();
};

void TestSettingsStore::defaultsAreSensible() {
  QTemporaryDir dir;
  SettingsStore store(dir.filePath("settings.ini"));
  const GenerationSettings s = store.generation();
  QCOMPARE(s.request.sampling.steps, 25);
  QCOMPARE(s.request.sampling.guidance_scale, 7.5);
  // The first start draws with the bundled starter model, at its size, from a caption it knows.
  QVERIFY(latent::util::starter_model_available());
  QCOMPARE(s.request.size.width, latent::util::kStarterModelSide);
  QCOMPARE(s.request.size.height, latent::util::kStarterModelSide);
  QCOMPARE(s.request.prompt, std::string(latent::util::kStarterExamplePrompt));
  QCOMPARE(s.request.sampling.sampler, std::string("euler_a"));
  QCOMPARE(s.model.device, std::string("cpu"));
  QCOMPARE(s.model.dtype, std::string("fp32"));
  QCOMPARE(s.model.weights, std::string("auto"));
  QCOMPARE(s.batchCount, 1);
  QVERIFY(s.request.loras.adapters.empty());
  QVERIFY(s.request.loras.folder.empty());
  QCOMPARE(s.imageMode, latent::ui::ImageMode::Text);
  QCOMPARE(s.request.init.strength, 0.75);
  QCOMPARE(s.request.init.resize_mode, std::string("resize"));
  QVERIFY(store.outputDir().endsWith(QStringLiteral("Latent Studio")));
  QVERIFY(store.recentModels().isEmpty());
}

void TestSettingsStore::roundTripsEverySetting() {
  QTemporaryDir dir;
  GenerationSettings s;
  s.request.prompt = "a line\nand another, with ünïcode";
  s.request.negative_prompt = "ugly";
  s.request.size.width = 768;
  s.request.size.height = 512;
  s.request.sampling.steps = 42;
  s.request.sampling.guidance_scale = 11.5;
  s.request.sampling.seed = 18446744073709551615ull;
  s.request.sampling.sampler = "dpmpp_2m_karras";
  s.request.size.batch_size = 3;
  s.request.sampling.clip_skip = 2;
  s.request.preview.approximate = false;
  s.request.preview.vae_every = 0;
  s.model.model_path = "/models/v1-5.safetensors";
  s.model.device = "cuda";
  s.model.dtype = "fp16";
  s.model.weights = "int8";
  s.seedLocked = true;
  s.batchCount = 4;
  s.request.loras.folder = "/loras";
  s.request.loras.adapters = {{"/loras/detail.safetensors", 0.8}, {"/loras/style/ink.safetensors", -0.35}};
  s.imageMode = latent::ui::ImageMode::Inpaint;
  s.initImagePath = QStringLiteral("/pictures/start.png");
  s.brushSize = 48;
  s.request.init.strength = 0.3;
  s.request.init.resize_mode = "pad";
  s.request.mask.blur = 9;
  s.request.mask.only_masked = true;
  s.request.mask.only_masked_padding = 20;
  {
    SettingsStore store(dir.filePath("settings.ini"));
    store.setGeneration(s);
    store.setOutputDir(QStringLiteral("/pictures/out"));
    store.setLayout(QStringLiteral("geometry"), QByteArray("\x01\x02\x00\x03", 4));
  }
  SettingsStore store(dir.filePath("settings.ini"));
  const GenerationSettings r = store.generation();
  QCOMPARE(r.request.prompt, s.request.prompt);
  QCOMPARE(r.request.negative_prompt, s.request.negative_prompt);
  QCOMPARE(r.request.size.width, 768);
  QCOMPARE(r.request.size.height, 512);
  QCOMPARE(r.request.sampling.steps, 42);
  QCOMPARE(r.request.sampling.guidance_scale, 11.5);
  QCOMPARE(r.request.sampling.seed, s.request.sampling.seed);
  QCOMPARE(r.request.sampling.sampler, s.request.sampling.sampler);
  QCOMPARE(r.request.size.batch_size, 3);
  QCOMPARE(r.request.sampling.clip_skip, 2);
  QCOMPARE(r.request.preview.approximate, false);
  QCOMPARE(r.request.preview.vae_every, 0);
  QVERIFY(r.model == s.model);
  QCOMPARE(r.seedLocked, true);
  QCOMPARE(r.batchCount, 4);
  QCOMPARE(r.request.loras.folder, std::string("/loras"));
  QCOMPARE(r.request.loras.adapters.size(), std::size_t(2));
  QCOMPARE(r.request.loras.adapters[0].path, std::string("/loras/detail.safetensors"));
  QCOMPARE(r.request.loras.adapters[0].multiplier, 0.8);
  QCOMPARE(r.request.loras.adapters[1].path, std::string("/loras/style/ink.safetensors"));
  QCOMPARE(r.request.loras.adapters[1].multiplier, -0.35);
  QCOMPARE(r.imageMode, latent::ui::ImageMode::Inpaint);
  QCOMPARE(r.initImagePath, QStringLiteral("/pictures/start.png"));
  QCOMPARE(r.brushSize, 48);
  QCOMPARE(r.request.init.strength, 0.3);
  QCOMPARE(r.request.init.resize_mode, std::string("pad"));
  QCOMPARE(r.request.mask.blur, 9);
  QVERIFY(r.request.mask.only_masked);
  QCOMPARE(r.request.mask.only_masked_padding, 20);
  QCOMPARE(store.outputDir(), QStringLiteral("/pictures/out"));
  QCOMPARE(store.layout(QStringLiteral("geometry")), QByteArray("\x01\x02\x00\x03", 4));
}

void TestSettingsStore::convertsTheOldClipSkipCount() {
  // Settings saved before clip skip was counted as the web UI counts it kept diffusers'
  // count (0 = the last layer) under "clipSkip".
  QTemporaryDir dir;
  {
    QSettings old(dir.filePath("settings.ini"), QSettings::IniFormat);
    old.setValue(QStringLiteral("generation/clipSkip"), 1);
  }
  SettingsStore store(dir.filePath("settings.ini"));
  const GenerationSettings s = store.generation();
  QCOMPARE(s.request.sampling.clip_skip, 2);
  store.setGeneration(s);
  QCOMPARE(store.generation().request.sampling.clip_skip, 2);  // converted once, not again
}

void TestSettingsStore::recentModelsAreMostRecentFirstAndCapped() {
  QTemporaryDir dir;
  SettingsStore store(dir.filePath("settings.ini"));
  for (int i = 0; i < 15; ++i) store.addRecentModel(QStringLiteral("/models/m%1").arg(i));
  store.addRecentModel(QStringLiteral("/models/m10"));
  const QStringList recent = store.recentModels();
  QCOMPARE(recent.size(), SettingsStore::kMaxRecentModels);
  QCOMPARE(recent.first(), QStringLiteral("/models/m10"));
  QCOMPARE(recent.at(1), QStringLiteral("/models/m14"));
  QCOMPARE(recent.count(QStringLiteral("/models/m10")), 1);
}

void TestSettingsStore::windowComesBackAsItWasLeft() {
  QTemporaryDir dir;
  const QString ini = dir.filePath("settings.ini");
  const QString out = dir.filePath("images");
  QByteArray splitterState;
  {
    SettingsStore store(ini);
    store.setOutputDir(out);
    MainWindow window(&store);
    window.show();
    window.promptPanel()->setPrompt(QStringLiteral("a cabin in the woods"));
    window.promptPanel()->setNegativePrompt(QStringLiteral("people"));
    window.parametersPanel()->stepsSpin()->setValue(17);
    window.parametersPanel()->guidanceSpin()->setValue(5.5);
    window.parametersPanel()->seedEdit()->setText(QStringLiteral("777"));
    window.parametersPanel()->setSeedLocked(true);
    window.parametersPanel()->widthSpin()->setValue(640);
    window.parametersPanel()->heightSpin()->setValue(384);
    window.parametersPanel()->samplerCombo()->setCurrentIndex(
        window.parametersPanel()->samplerCombo()->findData(QStringLiteral("heun")));
    window.parametersPanel()->previewCombo()->setCurrentIndex(window.parametersPanel()->previewCombo()->count() - 1);
    window.modelPicker()->setModelPath(latent::test::tinyModelPath());
    window.modelPicker()->precisionCombo()->setCurrentIndex(1);
    auto* weights = window.modelPicker()->weightsCombo();
    weights->setCurrentIndex(weights->findData(QStringLiteral("int8")));
    window.resize(1111, 777);
    auto* splitter = window.findChild<QSplitter*>(QStringLiteral("mainSplitter"));
    splitter->setSizes({300, 500, 311});
    splitterState = splitter->saveState();
    window.close();  // saves
  }
  SettingsStore store(ini);
  MainWindow window(&store);
  const GenerationSettings s = window.formSettings();
  QCOMPARE(s.request.prompt, std::string("a cabin in the woods"));
  QCOMPARE(s.request.negative_prompt, std::string("people"));
  QCOMPARE(s.request.sampling.steps, 17);
  QCOMPARE(s.request.sampling.guidance_scale, 5.5);
  QCOMPARE(s.request.sampling.seed, uint64_t(777));
  QVERIFY(s.seedLocked);
  QCOMPARE(s.request.size.width, 640);
  QCOMPARE(s.request.size.height, 384);
  QCOMPARE(s.request.sampling.sampler, std::string("heun"));
  QCOMPARE(s.request.preview.approximate, false);
  QCOMPARE(s.request.preview.vae_every, 0);
  QCOMPARE(s.model.model_path, latent::test::tinyModelPath().toStdString());
  QCOMPARE(s.model.dtype, std::string("bf16"));
  QCOMPARE(s.model.weights, std::string("int8"));
  QCOMPARE(window.outputDir(), out);
  QCOMPARE(window.size(), QSize(1111, 777));
  QCOMPARE(window.findChild<QSplitter*>(QStringLiteral("mainSplitter"))->saveState(), splitterState);
}

QTEST_MAIN(TestSettingsStore)
#include "tst_settings_store.moc"
