// The window follows the chosen model: the model picker names each model's family, the
// size presets and defaults are the family's, the refiner picker appears for an SDXL base
// only, the LoRA panel greys out LoRAs made for another family with the reason and keeps
// them out of the request, "use these settings" restores a refiner and a VAE, the VAE,
// preview decoder and a 2.x single file's prediction are remembered per model, and "Fast"
// sets the few-step preset.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolButton>
#include <QtTest/QtTest>
#include <memory>

#include "ui/lora_panel.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/path_choice.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::LoraPanel;
using latent::ui::MainWindow;
using latent::ui::ModelPicker;
using latent::ui::ParametersPanel;
using latent::ui::SettingsStore;

namespace {

const QString kSdxlBase = QStringLiteral(LATENT_TEST_DATA "/sdxl/tiny-sdxl");
const QString kSdxlSingleFile = QStringLiteral(LATENT_TEST_DATA "/sdxl/tiny-sdxl.safetensors");
const QString kSdxlRefiner = QStringLiteral(LATENT_TEST_DATA "/sdxl/tiny-sdxl-refiner");
const QString kSd2Folder = QStringLiteral(LATENT_TEST_DATA "/sd2/tiny-sd2");
const QString kSd2SingleFile = QStringLiteral(LATENT_TEST_DATA "/sd2/tiny-sd2.safetensors");
const QString kTinyVae = QStringLiteral(LATENT_TEST_DATA "/fast/taesd-tiny");
const QString kSdLora = QStringLiteral("tiny-sd-lora-kohya");
const QString kSdxlLora = QStringLiteral("tiny-sdxl-lora-kohya");

QStringList presetSizes(const ParametersPanel* panel) {
  QStringList sizes;
  const QComboBox* presets = panel->sizePresetCombo();
  for (int i = 0; i < presets->count(); ++i) {
    const QSize size = presets->itemData(i).toSize();
    if (size.isValid()) sizes << QStringLiteral("%1x%2").arg(size.width()).arg(size.height());
  }
  return sizes;
}

}  // namespace

class TestModelFamilyUi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void init();
  void cleanup();
  void pickerNamesTheFamilyOfTheModelAndOfEachRecentOne();
  void unreadableModelShowsTheLoadersReason();
  void sizePresetsFollowTheFamily();
  void choosingAModelAdoptsItsSizeAndGuidanceButKeepsChosenOnes();
  void refinerPickerOnlyForAnSdxlBase();
  void refinerThatIsNotARefinerIsSaidSo();
  void lorasOfAnotherFamilyAreGreyedOutWithTheReason();
  void restoringParametersFindsTheRefinerByName();
  void autoencodersAreRememberedPerModel();
  void restoringParametersFindsTheVaeByName();
  void predictionOfAnSd2SingleFileIsAChoiceRememberedPerModel();
  void fastButtonSetsTheFewStepPreset();

 private:
  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
};

void TestModelFamilyUi::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  m_store = latent::test::settingsIn(*m_dir);
  m_window = latent::test::shownWindow(m_store.get());
  QVERIFY(m_window);
}

void TestModelFamilyUi::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

void TestModelFamilyUi::pickerNamesTheFamilyOfTheModelAndOfEachRecentOne() {
  ModelPicker* picker = m_window->modelPicker();
  picker->setRecentModels({kSdxlBase, latent::test::tinyModelPath(), kSdxlRefiner});
  QComboBox* paths = picker->pathCombo();
  QCOMPARE(paths->count(), 3);
  QCOMPARE(paths->itemData(0, ModelPicker::kFamilyRole).toString(), QStringLiteral("SDXL base"));
  QCOMPARE(paths->itemData(1, ModelPicker::kFamilyRole).toString(), QStringLiteral("Stable Diffusion 1.x"));
  QCOMPARE(paths->itemData(2, ModelPicker::kFamilyRole).toString(), QStringLiteral("SDXL refiner"));

  // The single file is told apart by its keys, as the engine tells it (its configs are the
  // tiny folder's: the bundled ones describe the full-size networks).
  latent::api::LoadOptions singleFile;
  singleFile.model_path = kSdxlSingleFile.toStdString();
  singleFile.config_dir = kSdxlBase.toStdString();
  picker->setOptions(singleFile);
  QVERIFY(picker->summary().has_value());
  QCOMPARE(picker->summary()->family, latent::io::ModelFamily::sdxl_base);
  QVERIFY2(picker->familyText().startsWith(QStringLiteral("SDXL base")), qPrintable(picker->familyText()));
  // Without them it is refused as the engine refuses it, with the loader's reason.
  picker->setOptions(latent::test::tinyModel());
  QVERIFY2(picker->familyText().startsWith(QStringLiteral("Stable Diffusion 1.x")), qPrintable(picker->familyText()));
  picker->setModelPath(kSdxlSingleFile);
  QVERIFY(!picker->summary().has_value());
  QVERIFY2(picker->familyText().contains(QStringLiteral("lacks")), qPrintable(picker->familyText()));
}

void TestModelFamilyUi::unreadableModelShowsTheLoadersReason() {
  const QString bogus = m_dir->filePath(QStringLiteral("notes.safetensors"));
  QFile file(bogus);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write("this is not a checkpoint");
  file.close();
  ModelPicker* picker = m_window->modelPicker();
  picker->setModelPath(bogus);
  QVERIFY(!picker->summary().has_value());
  QVERIFY2(picker->familyText().contains(QStringLiteral("notes.safetensors")), qPrintable(picker->familyText()));
  picker->setModelPath(m_dir->filePath(QStringLiteral("nowhere")));
  QVERIFY2(picker->familyText().contains(QStringLiteral("does not exist")), qPrintable(picker->familyText()));
}

void TestModelFamilyUi::sizePresetsFollowTheFamily() {
  ParametersPanel* parameters = m_window->parametersPanel();
  m_window->modelPicker()->setModelPath(kSdxlBase);
  const latent::pipeline::ModelDefaults sdxl = m_window->modelPicker()->summary()->defaults;
  QCOMPARE(sdxl.guidance_scale, 5.0);
  QStringList sizes = presetSizes(parameters);
  // The model's own size comes first (the tiny test model's is small).
  QCOMPARE(sizes.first(), QStringLiteral("%1x%2").arg(sdxl.width).arg(sdxl.height));

  parameters->setModelDefaults({1024, 1024, 5.0}, false);
  sizes = presetSizes(parameters);
  QCOMPARE(sizes.first(), QStringLiteral("1024x1024"));
  QVERIFY(sizes.contains(QStringLiteral("832x1216")));
  QVERIFY(sizes.contains(QStringLiteral("1216x832")));
  QVERIFY(!sizes.contains(QStringLiteral("512x512")));

  parameters->setModelDefaults({768, 768, 7.5}, false);
  sizes = presetSizes(parameters);
  QCOMPARE(sizes.first(), QStringLiteral("768x768"));
  QVERIFY(!sizes.contains(QStringLiteral("1024x1024")));

  parameters->setModelDefaults({512, 512, 7.5}, false);
  sizes = presetSizes(parameters);
  QCOMPARE(sizes.first(), QStringLiteral("512x512"));
  QVERIFY(sizes.contains(QStringLiteral("512x768")));
  QVERIFY(!sizes.contains(QStringLiteral("1024x1024")));
}

void TestModelFamilyUi::choosingAModelAdoptsItsSizeAndGuidanceButKeepsChosenOnes() {
  ParametersPanel* parameters = m_window->parametersPanel();
  parameters->setModelDefaults({512, 512, 7.5}, false);
  parameters->widthSpin()->setValue(512);
  parameters->heightSpin()->setValue(512);
  parameters->guidanceSpin()->setValue(7.5);

  // Without the person's choice (settings, an image's metadata) nothing they set moves.
  parameters->setModelDefaults({1024, 1024, 5.0}, false);
  QCOMPARE(parameters->widthSpin()->value(), 512);
  QCOMPARE(parameters->guidanceSpin()->value(), 7.5);

  // Chosen by the person: the previous model's defaults give way to the new model's.
  parameters->setModelDefaults({512, 512, 7.5}, false);
  parameters->setModelDefaults({1024, 1024, 5.0}, true);
  QCOMPARE(parameters->widthSpin()->value(), 1024);
  QCOMPARE(parameters->heightSpin()->value(), 1024);
  QCOMPARE(parameters->guidanceSpin()->value(), 5.0);

  // A size of the class and a guidance the person set stay when the defaults change again.
  parameters->widthSpin()->setValue(832);
  parameters->heightSpin()->setValue(1216);
  parameters->guidanceSpin()->setValue(6.5);
  parameters->setModelDefaults({1024, 1024, 7.5}, true);
  QCOMPARE(parameters->widthSpin()->value(), 832);
  QCOMPARE(parameters->guidanceSpin()->value(), 6.5);

  // A size that does not suit the new class at all is replaced.
  parameters->setModelDefaults({512, 512, 7.5}, true);
  QCOMPARE(parameters->widthSpin()->value(), 512);
  QCOMPARE(parameters->heightSpin()->value(), 512);
}

void TestModelFamilyUi::refinerPickerOnlyForAnSdxlBase() {
  ModelPicker* picker = m_window->modelPicker();
  picker->setModelPath(latent::test::tinyModelPath());
  QVERIFY(picker->refinerRow()->isHidden());
  // The row's label goes with it: no "Refiner" beside an empty space.
  auto* form = qobject_cast<QFormLayout*>(picker->layout());
  QVERIFY(form);
  QVERIFY(form->labelForField(picker->refinerRow())->isHidden());

  picker->setModelPath(kSdxlBase);
  QVERIFY(!picker->refinerRow()->isHidden());
  QVERIFY(!form->labelForField(picker->refinerRow())->isHidden());
  picker->setRefiner({kSdxlRefiner.toStdString(), 0.7});
  QCOMPARE(picker->refinerNote(), QString());
  QCOMPARE(m_window->formSettings().request.refiner.path, kSdxlRefiner.toStdString());
  QCOMPARE(m_window->formSettings().request.refiner.switch_at, 0.7);

  // Another family keeps the choice for later but runs without a refiner.
  picker->setModelPath(latent::test::tinyModelPath());
  QVERIFY(picker->refinerRow()->isHidden());
  QVERIFY(!m_window->formSettings().request.refiner.given());
  picker->setModelPath(kSdxlBase);
  QCOMPARE(m_window->formSettings().request.refiner.path, kSdxlRefiner.toStdString());

  // The refiner and its switch point live on in the settings.
  m_window->saveSettings();
  m_window.reset();
  m_window = std::make_unique<MainWindow>(m_store.get());
  QCOMPARE(m_window->modelPicker()->refinerPath(), kSdxlRefiner);
  QCOMPARE(m_window->modelPicker()->refinerSwitchSpin()->value(), 0.7);
}

void TestModelFamilyUi::refinerThatIsNotARefinerIsSaidSo() {
  ModelPicker* picker = m_window->modelPicker();
  picker->setModelPath(kSdxlBase);
  picker->setRefiner({latent::test::tinyModelPath().toStdString(), 0.8});
  QVERIFY2(picker->refinerNote().contains(QStringLiteral("not an SDXL refiner")), qPrintable(picker->refinerNote()));
  QVERIFY(!picker->findChild<QLabel*>(QStringLiteral("refinerNote"))->isHidden());
}

void TestModelFamilyUi::lorasOfAnotherFamilyAreGreyedOutWithTheReason() {
  const QString folder = m_dir->filePath(QStringLiteral("loras"));
  QVERIFY(QDir().mkpath(folder));
  // Named so that the SDXL LoRA sorts first in the folder.
  QVERIFY(QFile::copy(QStringLiteral(LATENT_TEST_DATA "/lora/") + kSdLora + ".safetensors",
                      folder + "/zz-" + kSdLora + ".safetensors"));
  QVERIFY(QFile::copy(QStringLiteral(LATENT_TEST_DATA "/sdxl/lora/") + kSdxlLora + ".safetensors",
                      folder + "/aa-" + kSdxlLora + ".safetensors"));
  LoraPanel* loras = m_window->loraPanel();
  loras->setFolder(folder);
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  QCOMPARE(loras->count(), 2);

  // The SD 1.x model: the SD LoRA first and usable, the SDXL one last, greyed, with why.
  QCOMPARE(loras->nameAt(0), QStringLiteral("zz-") + kSdLora);
  QCOMPARE(loras->misfitAt(0), QString());
  QVERIFY(loras->checkBoxAt(0)->isEnabled());
  QCOMPARE(loras->nameAt(1), QStringLiteral("aa-") + kSdxlLora);
  QVERIFY(!loras->checkBoxAt(1)->isEnabled());
  const QString reason = loras->misfitAt(1);
  QVERIFY2(reason.startsWith(QStringLiteral("Made for SDXL")), qPrintable(reason));
  QVERIFY2(reason.contains(QStringLiteral("Stable Diffusion 1.x")), qPrintable(reason));
  QVERIFY2(loras->messageText().contains(QStringLiteral("1 made for another model family")),
           qPrintable(loras->messageText()));

  // Checked anyway (restored settings): it stays out of the request.
  loras->checkBoxAt(0)->setChecked(true);
  loras->setCheckedLoras({{(folder + "/zz-" + kSdLora + ".safetensors").toStdString(), 0.5},
                          {(folder + "/aa-" + kSdxlLora + ".safetensors").toStdString(), 1.0}});
  std::vector<latent::api::LoraSpec> checked = loras->checkedLoras();
  QCOMPARE(checked.size(), size_t(1));
  QVERIFY(QString::fromStdString(checked[0].path).endsWith(kSdLora + ".safetensors"));

  // The SDXL model turns it round, and the SDXL LoRA, still checked, is applied.
  m_window->modelPicker()->setModelPath(kSdxlBase);
  QCOMPARE(loras->nameAt(0), QStringLiteral("aa-") + kSdxlLora);
  QVERIFY(loras->checkBoxAt(0)->isEnabled());
  QVERIFY(!loras->checkBoxAt(1)->isEnabled());
  QVERIFY2(loras->misfitAt(1).startsWith(QStringLiteral("Made for Stable Diffusion")), qPrintable(loras->misfitAt(1)));
  checked = loras->checkedLoras();
  QCOMPARE(checked.size(), size_t(1));
  QVERIFY(QString::fromStdString(checked[0].path).endsWith(kSdxlLora + ".safetensors"));
}

void TestModelFamilyUi::restoringParametersFindsTheRefinerByName() {
  m_store->addRecentRefiner(kSdxlRefiner);
  m_window->modelPicker()->setRecentRefiners(m_store->recentRefiners());
  m_store->addRecentModel(kSdxlBase);
  const QString text = QStringLiteral(
      "a lighthouse\nSteps: 12, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 64x64, "
      "Model: tiny-sdxl, Refiner: tiny-sdxl-refiner [0123456789], Refiner switch at: 0.65");
  QVERIFY(m_window->applyParametersText(text));
  QCOMPARE(m_window->modelPicker()->modelPath(), kSdxlBase);
  const latent::api::RefinerSettings refiner = m_window->formSettings().request.refiner;
  QCOMPARE(QString::fromStdString(refiner.path), kSdxlRefiner);
  QCOMPARE(refiner.switch_at, 0.65);

  // Parameters without a refiner clear it.
  QVERIFY(m_window->applyParametersText(
      QStringLiteral("a lighthouse\nSteps: 12, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 64x64, Model: tiny-sdxl")));
  QVERIFY(!m_window->formSettings().request.refiner.given());
}

void TestModelFamilyUi::autoencodersAreRememberedPerModel() {
  ModelPicker* picker = m_window->modelPicker();
  ParametersPanel* parameters = m_window->parametersPanel();
  picker->setModelPath(latent::test::tinyModelPath());
  parameters->vaeChoice()->setPath(kTinyVae);
  parameters->previewVaeChoice()->setPath(kTinyVae);
  QCOMPARE(QString::fromStdString(m_window->formSettings().request.vae), kTinyVae);
  QCOMPARE(QString::fromStdString(m_window->formSettings().request.preview.tiny_vae), kTinyVae);

  // Another model has its own (none yet); the first gets its back.
  picker->setModelPath(kSdxlBase);
  QCOMPARE(parameters->vaeChoice()->path(), QString());
  QCOMPARE(parameters->previewVaeChoice()->path(), QString());
  QVERIFY(m_window->formSettings().request.vae.empty());
  picker->setModelPath(latent::test::tinyModelPath());
  QCOMPARE(parameters->vaeChoice()->path(), kTinyVae);
  QCOMPARE(parameters->previewVaeChoice()->path(), kTinyVae);

  // And across a restart.
  m_window->saveSettings();
  m_window.reset();
  m_window = std::make_unique<MainWindow>(m_store.get());
  QCOMPARE(m_window->parametersPanel()->vaeChoice()->path(), kTinyVae);
}

void TestModelFamilyUi::restoringParametersFindsTheVaeByName() {
  m_store->addRecentAutoencoder(kTinyVae);
  QVERIFY(m_window->applyParametersText(QStringLiteral(
      "a lighthouse\nSteps: 4, Sampler: LCM, CFG scale: 1, Seed: 7, Size: 64x64, VAE: taesd-tiny, VAE hash: 0123456789")));
  QCOMPARE(QString::fromStdString(m_window->formSettings().request.vae), kTinyVae);
  QCOMPARE(m_window->formSettings().request.sampling.sampler, std::string("lcm"));
  QVERIFY(m_window->applyParametersText(
      QStringLiteral("a lighthouse\nSteps: 4, Sampler: Euler, CFG scale: 7, Seed: 7, Size: 64x64")));
  QVERIFY(m_window->formSettings().request.vae.empty());
}

void TestModelFamilyUi::predictionOfAnSd2SingleFileIsAChoiceRememberedPerModel() {
  ModelPicker* picker = m_window->modelPicker();
  // A folder says what it predicts: nothing to choose.
  picker->setModelPath(kSd2Folder);
  QCOMPARE(picker->summary()->family, latent::io::ModelFamily::sd2);
  QCOMPARE(picker->summary()->prediction, std::string("v_prediction"));
  QVERIFY(picker->predictionCombo()->parentWidget()->isHidden());

  // Its single file (read with the folder's configs, the bundled ones being full-size).
  latent::api::LoadOptions singleFile;
  singleFile.model_path = kSd2SingleFile.toStdString();
  singleFile.config_dir = kSd2Folder.toStdString();
  picker->setOptions(singleFile);
  QVERIFY(picker->summary().has_value());
  QVERIFY(picker->summary()->prediction_is_a_choice);
  QVERIFY(!picker->predictionCombo()->parentWidget()->isHidden());
  QCOMPARE(picker->summary()->prediction, std::string("v_prediction"));  // as its configs say
  QVERIFY(picker->options().prediction.empty());

  picker->setPrediction(QStringLiteral("epsilon"));
  QCOMPARE(picker->summary()->prediction, std::string("epsilon"));
  QCOMPARE(picker->options().prediction, std::string("epsilon"));
  QVERIFY2(!picker->familyText().contains(QStringLiteral("predicts v")), qPrintable(picker->familyText()));

  // Remembered for this file: another model, then back.
  picker->setModelPath(latent::test::tinyModelPath());
  QVERIFY(picker->options().prediction.empty());
  picker->setModelPath(kSd2SingleFile);
  QCOMPARE(picker->options().prediction, std::string("epsilon"));
}

void TestModelFamilyUi::fastButtonSetsTheFewStepPreset() {
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  ParametersPanel* parameters = m_window->parametersPanel();
  parameters->stepsSpin()->setValue(30);
  parameters->guidanceSpin()->setValue(7.5);
  QTest::mouseClick(parameters->fastButton(), Qt::LeftButton);
  const latent::api::GenerationRequest request = m_window->formSettings().request;
  QCOMPARE(request.sampling.sampler, std::string("lcm"));
  QCOMPARE(request.sampling.steps, 4);
  QCOMPARE(request.sampling.guidance_scale, 1.0);
  QVERIFY2(m_window->statusText().startsWith(QStringLiteral("Fast preset")), qPrintable(m_window->statusText()));
}

QTEST_MAIN(TestModelFamilyUi)
#include "tst_model_family_ui.moc"
