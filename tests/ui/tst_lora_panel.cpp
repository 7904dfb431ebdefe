// The LoRA panel: it lists the LoRA folder and follows it, the checked LoRAs and their
// multipliers go into the request and into the settings, a generation with a LoRA records
// it in the saved PNG, and "use these settings" checks it again; no LoRA change reloads the model.
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QtEndian>
#include <QtTest/QtTest>
#include <memory>

#include "core/image/png_metadata.h"
#include "ui/generation_queue.h"
#include "ui/image_metadata.h"
#include "ui/lora_panel.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::GenerationOutput;
using latent::ui::GenerationQueue;
using latent::ui::LoraPanel;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

namespace {

constexpr int kTimeoutMs = 120000;
const QString kKohya = QStringLiteral("tiny-sd-lora-kohya");
const QString kDiffusers = QStringLiteral("tiny-sd-lora-diffusers");
const QString kPeft = QStringLiteral("tiny-sd-lora-peft-baked");
// The first 12 hex digits of SHA-256 over the kohya file's data (see tests/core/tst_lora.cpp).
const QString kKohyaHash = QStringLiteral("70dead3befe6");

QString chunk(const QString& png, const char* key) {
  for (const auto& [name, text] : latent::image::read_png_text_file(png.toStdString()))
    if (name == key) return QString::fromStdString(text);
  return {};
}

// The kohya test LoRA plus a layer no SD 1.x model has, so it fits only in part. Written by
// hand in the safetensors layout: an 8-byte header length, the JSON header, the data.
bool writePartialLora(const QString& from, const QString& to) {
  QFile in(from);
  if (!in.open(QIODevice::ReadOnly)) return false;
  const QByteArray bytes = in.readAll();
  const auto headerLength = qFromLittleEndian<quint64>(bytes.constData());
  QJsonObject header = QJsonDocument::fromJson(bytes.mid(8, qsizetype(headerLength))).object();
  QByteArray data = bytes.mid(8 + qsizetype(headerLength));
  const auto add = [&](const QString& name, const QJsonArray& shape, int floats) {
    header.insert(name,
                  QJsonObject{{"dtype", "F32"},
                              {"shape", shape},
                              {"data_offsets", QJsonArray{data.size(), data.size() + floats * 4}}});
    data.append(QByteArray(floats * 4, '\0'));
  };
  add(QStringLiteral("lora_unet_made_up_block_0_proj.lora_down.weight"), {4, 8}, 32);
  add(QStringLiteral("lora_unet_made_up_block_0_proj.lora_up.weight"), {8, 4}, 32);
  QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
  while (json.size() % 8 != 0) json.append(' ');
  QByteArray length(8, '\0');
  qToLittleEndian<quint64>(quint64(json.size()), length.data());
  QFile out(to);
  if (!out.open(QIODevice::WriteOnly)) return false;
  return out.write(length + json + data) == 8 + json.size() + data.size();
}

}  // namespace

class TestLoraPanel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void init();
  void cleanup();
  void listsTheFolderSortedByName();
  void followsFilesAddedToTheFolder();
  void missingFolderSaysSo();
  void checkedLoraGoesIntoTheRequestWithItsMultiplier();
  void persistsAcrossASettingsRoundTrip();
  void generationRecordsTheLoraAndRestoreChecksItAgain();
  void parametersFromAnotherProgramUncheckTheLoras();
  void partlyFittingLoraIsRefusedUnlessAllowedThenWarns();

 private:
  void openWindow();
  int checkRow(const QString& name, double multiplier);

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
  QString m_loraDir;
  QString m_out;
};

void TestLoraPanel::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  // A folder of our own, so files can be added while the panel watches it.
  m_loraDir = m_dir->filePath(QStringLiteral("loras"));
  QVERIFY(QDir().mkpath(m_loraDir + QStringLiteral("/styles")));
  const QString data = QStringLiteral(LATENT_TEST_DATA "/lora/");
  QVERIFY(QFile::copy(data + kKohya + ".safetensors", m_loraDir + "/" + kKohya + ".safetensors"));
  QVERIFY(QFile::copy(data + kDiffusers + ".safetensors",
                      m_loraDir + "/" + kDiffusers + ".safetensors"));
  QVERIFY(
      QFile::copy(data + kPeft + ".safetensors", m_loraDir + "/styles/" + kPeft + ".safetensors"));
  QFile notALora(m_loraDir + QStringLiteral("/readme.txt"));
  QVERIFY(notALora.open(QIODevice::WriteOnly));
  notALora.close();
  m_out = m_dir->filePath(QStringLiteral("out"));
  m_store = latent::test::settingsIn(*m_dir);  // pictures saved in m_out
  openWindow();
}

void TestLoraPanel::openWindow() {
  m_window = std::make_unique<MainWindow>(m_store.get());
  m_window->show();
  QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestLoraPanel::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

int TestLoraPanel::checkRow(const QString& name, double multiplier) {
  LoraPanel* panel = m_window->loraPanel();
  const int row = panel->rowOf(name);
  if (row < 0) return row;
  panel->checkBoxAt(row)->setChecked(true);
  panel->multiplierAt(row)->setValue(multiplier);
  return row;
}

void TestLoraPanel::listsTheFolderSortedByName() {
  LoraPanel* panel = m_window->loraPanel();
  QCOMPARE(panel->count(), 0);
  panel->setFolder(m_loraDir);
  QCOMPARE(panel->count(), 3);  // the subfolder's file too, not the .txt
  QCOMPARE(panel->nameAt(0), kDiffusers);
  QCOMPARE(panel->nameAt(1), kKohya);
  QCOMPARE(panel->nameAt(2), kPeft);
  QCOMPARE(panel->pathAt(2),
           QDir(m_loraDir).filePath(QStringLiteral("styles/") + kPeft + ".safetensors"));
  QVERIFY2(panel->messageText().contains(QStringLiteral("3")), qPrintable(panel->messageText()));
  for (int row = 0; row < 3; ++row) {
    QVERIFY(!panel->checkBoxAt(row)->isChecked());
    QCOMPARE(panel->multiplierAt(row)->value(), 1.0);
    QCOMPARE(panel->sliderAt(row)->value(), 20);  // 1.0 in steps of 0.05
  }
  QVERIFY(m_window->formSettings().request.loras.adapters.empty());
}

void TestLoraPanel::followsFilesAddedToTheFolder() {
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_loraDir);
  checkRow(kKohya, 0.7);
  QVERIFY(QFile::copy(QStringLiteral(LATENT_TEST_DATA "/lora/") + kKohya + ".safetensors",
                      m_loraDir + QStringLiteral("/added-later.safetensors")));
  // The folder is watched; the Refresh button does the same at once.
  QTRY_COMPARE_WITH_TIMEOUT(panel->count(), 4, 5000);
  QCOMPARE(panel->nameAt(0), QStringLiteral("added-later"));
  // What was checked stays checked.
  const int kohya = panel->rowOf(kKohya);
  QVERIFY(panel->checkBoxAt(kohya)->isChecked());
  QCOMPARE(panel->multiplierAt(kohya)->value(), 0.7);

  QVERIFY(QFile::remove(m_loraDir + QStringLiteral("/added-later.safetensors")));
  QTest::mouseClick(panel->findChild<QWidget*>(QStringLiteral("loraRefresh")), Qt::LeftButton);
  QCOMPARE(panel->count(), 3);
  QCOMPARE(panel->rowOf(QStringLiteral("added-later")), -1);
}

void TestLoraPanel::missingFolderSaysSo() {
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_dir->filePath(QStringLiteral("no-such-folder")));
  QCOMPARE(panel->count(), 0);
  QVERIFY2(panel->messageText().contains(QStringLiteral("no-such-folder")),
           qPrintable(panel->messageText()));
  QVERIFY2(panel->messageText().contains(QStringLiteral("does not exist")),
           qPrintable(panel->messageText()));
}

void TestLoraPanel::checkedLoraGoesIntoTheRequestWithItsMultiplier() {
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_loraDir);
  const int row = checkRow(kKohya, 0.65);
  QVERIFY(row >= 0);
  QCOMPARE(panel->sliderAt(row)->value(), 13);  // the slider follows the spin box

  auto request = m_window->formSettings().request;
  QCOMPARE(QString::fromStdString(request.loras.folder), m_loraDir);
  QCOMPARE(request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(request.loras.adapters[0].path), panel->pathAt(row));
  QCOMPARE(request.loras.adapters[0].multiplier, 0.65);

  // The slider drives the spin box, negative values included.
  panel->sliderAt(row)->setValue(-30);
  QCOMPARE(panel->multiplierAt(row)->value(), -1.5);
  const int peft = checkRow(kPeft, 0.25);
  request = m_window->formSettings().request;
  QCOMPARE(request.loras.adapters.size(), std::size_t(2));
  QCOMPARE(request.loras.adapters[0].multiplier, -1.5);
  QCOMPARE(QString::fromStdString(request.loras.adapters[1].path), panel->pathAt(peft));
  QCOMPARE(request.loras.adapters[1].multiplier, 0.25);

  panel->checkBoxAt(row)->setChecked(false);
  panel->checkBoxAt(peft)->setChecked(false);
  QVERIFY(m_window->formSettings().request.loras.adapters.empty());
}

void TestLoraPanel::persistsAcrossASettingsRoundTrip() {
  LoraPanel* panel = m_window->loraPanel();
  panel->folderEdit()->setText(m_loraDir);  // typed into the field
  QMetaObject::invokeMethod(panel->folderEdit(), "editingFinished");
  QCOMPARE(panel->count(), 3);
  checkRow(kKohya, 0.45);
  checkRow(kPeft, -0.8);
  m_window->saveSettings();
  m_window.reset();

  // The store itself...
  const auto stored = m_store->generation();
  QCOMPARE(QString::fromStdString(stored.request.loras.folder), m_loraDir);
  QCOMPARE(stored.request.loras.adapters.size(), std::size_t(2));
  QCOMPARE(stored.request.loras.adapters[1].multiplier, -0.8);

  // ...and a new window, as the old one was left.
  openWindow();
  panel = m_window->loraPanel();
  QCOMPARE(panel->folder(), m_loraDir);
  QCOMPARE(panel->count(), 3);
  QVERIFY(panel->checkBoxAt(panel->rowOf(kKohya))->isChecked());
  QCOMPARE(panel->multiplierAt(panel->rowOf(kKohya))->value(), 0.45);
  QVERIFY(panel->checkBoxAt(panel->rowOf(kPeft))->isChecked());
  QCOMPARE(panel->multiplierAt(panel->rowOf(kPeft))->value(), -0.8);
  QVERIFY(!panel->checkBoxAt(panel->rowOf(kDiffusers))->isChecked());

  // Unchecking everything persists too (a shorter list leaves no stale entries).
  panel->checkBoxAt(panel->rowOf(kKohya))->setChecked(false);
  m_window->saveSettings();
  QCOMPARE(m_store->generation().request.loras.adapters.size(), std::size_t(1));
}

void TestLoraPanel::generationRecordsTheLoraAndRestoreChecksItAgain() {
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  m_window->promptPanel()->setPrompt(QStringLiteral("an astronaut riding a horse"));
  auto* parameters = m_window->parametersPanel();
  parameters->stepsSpin()->setValue(4);
  parameters->seedEdit()->setText(QStringLiteral("77"));
  parameters->setSeedLocked(true);
  parameters->widthSpin()->setValue(64);
  parameters->heightSpin()->setValue(64);
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_loraDir);
  checkRow(kKohya, 0.5);

  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(queue, &GenerationQueue::jobFailed);
  QSignalSpy loading(queue, &GenerationQueue::loadingModel);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, kTimeoutMs);
  QVERIFY2(failed.isEmpty(), qPrintable(m_window->errorText()));
  const auto output = finished.at(0).at(1).value<GenerationOutput>();
  QCOMPARE(output.loras.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(output.loras[0].name), kKohya);
  QCOMPARE(output.loras[0].multiplier, 0.5);
  QVERIFY(!output.loras[0].from_prompt);
  QVERIFY2(m_window->statusText().contains(QStringLiteral("LoRA: tiny-sd-lora-kohya 0.5")),
           qPrintable(m_window->statusText()));
  QVERIFY(m_window->warningText().isEmpty());

  // The PNG records it as the command-line tool does: the web UI's field and our JSON.
  QCOMPARE(output.savedPaths.size(), 1);
  const QString saved = output.savedPaths.first();
  const QString parametersText = chunk(saved, "parameters");
  QVERIFY2(
      parametersText.contains(QStringLiteral("Lora hashes: \"%1: %2\"").arg(kKohya, kKohyaHash)),
      qPrintable(parametersText));
  const QString json = chunk(saved, "latentstudio");
  QVERIFY2(json.contains(kKohyaHash), qPrintable(json));
  const latent::api::GenerationRequest noBase;
  const auto restored = latent::ui::readImageSettings(saved, noBase);
  QCOMPARE(restored.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(restored.request.loras.adapters[0].path),
           panel->pathAt(panel->rowOf(kKohya)));
  QCOMPARE(restored.request.loras.adapters[0].multiplier, 0.5);

  // Another set on the same model: the model is not loaded again.
  panel->checkBoxAt(panel->rowOf(kKohya))->setChecked(false);
  checkRow(kDiffusers, 1.0);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, kTimeoutMs);
  QVERIFY2(failed.isEmpty(), qPrintable(m_window->errorText()));
  QCOMPARE(loading.count(), 1);
  const auto second = finished.at(1).at(1).value<GenerationOutput>();
  QCOMPARE(second.loras.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(second.loras[0].name), kDiffusers);
  QVERIFY(second.images.first() != output.images.first());

  // "Use these settings" on the first image checks the kohya LoRA again, at 0.5, alone.
  panel->multiplierAt(panel->rowOf(kKohya))->setValue(1.75);
  QVERIFY(m_window->applyImageSettings(saved));
  QVERIFY(panel->checkBoxAt(panel->rowOf(kKohya))->isChecked());
  QCOMPARE(panel->multiplierAt(panel->rowOf(kKohya))->value(), 0.5);
  QVERIFY(!panel->checkBoxAt(panel->rowOf(kDiffusers))->isChecked());
  const auto request = m_window->formSettings().request;
  QCOMPARE(request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(request.loras.adapters[0].multiplier, 0.5);

  // The same settings give the same picture.
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 3, kTimeoutMs);
  QVERIFY2(failed.isEmpty(), qPrintable(m_window->errorText()));
  QCOMPARE(finished.at(2).at(1).value<GenerationOutput>().images.first(), output.images.first());
  QCOMPARE(loading.count(), 1);
}

void TestLoraPanel::parametersFromAnotherProgramUncheckTheLoras() {
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_loraDir);
  checkRow(kKohya, 0.5);
  // The web UI names its LoRAs in the prompt; the tag resolves in the panel's folder.
  QVERIFY(m_window->applyParametersText(
      QStringLiteral("a castle <lora:tiny-sd-lora-kohya:0.8>\nSteps: 20, Sampler: Euler, CFG "
                     "scale: 7, Seed: 5, Size: 64x64, "
                     "Lora hashes: \"tiny-sd-lora-kohya: 70dead3befe6\"")));
  QVERIFY(!panel->checkBoxAt(panel->rowOf(kKohya))->isChecked());
  const auto request = m_window->formSettings().request;
  QVERIFY(request.loras.adapters.empty());
  QCOMPARE(QString::fromStdString(request.prompt),
           QStringLiteral("a castle <lora:tiny-sd-lora-kohya:0.8>"));
  QCOMPARE(QString::fromStdString(request.loras.folder), m_loraDir);
}

void TestLoraPanel::partlyFittingLoraIsRefusedUnlessAllowedThenWarns() {
  const QString partial = m_loraDir + QStringLiteral("/partly-fitting.safetensors");
  QVERIFY(writePartialLora(QStringLiteral(LATENT_TEST_DATA "/lora/") + kKohya + ".safetensors",
                           partial));
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  m_window->promptPanel()->setPrompt(QStringLiteral("a lighthouse"));
  m_window->parametersPanel()->stepsSpin()->setValue(2);
  m_window->parametersPanel()->widthSpin()->setValue(64);
  m_window->parametersPanel()->heightSpin()->setValue(64);
  LoraPanel* panel = m_window->loraPanel();
  panel->setFolder(m_loraDir);
  checkRow(QStringLiteral("partly-fitting"), 1.0);
  QVERIFY(!panel->partialCheck()->isChecked());
  QVERIFY(!m_window->formSettings().request.loras.allow_partial);

  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(queue, &GenerationQueue::jobFailed);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, kTimeoutMs);
  QCOMPARE(failed.count(), 1);
  QVERIFY2(m_window->errorText().contains(QStringLiteral("partly-fitting.safetensors")),
           qPrintable(m_window->errorText()));
  QVERIFY2(m_window->errorText().contains(QStringLiteral("does not fit this model")),
           qPrintable(m_window->errorText()));
  QVERIFY2(m_window->errorText().contains(QStringLiteral("made_up_block")),
           qPrintable(m_window->errorText()));
  QVERIFY(latent::test::imagesIn(m_out).isEmpty());

  // Allowed: the matching part is applied and the window shows the engine's warning.
  panel->partialCheck()->setChecked(true);
  QVERIFY(m_window->formSettings().request.loras.allow_partial);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, kTimeoutMs);
  QCOMPARE(finished.count(), 1);
  const auto output = finished.first().at(1).value<GenerationOutput>();
  QCOMPARE(output.warnings.size(), 1);
  QVERIFY2(m_window->warningText().contains(QStringLiteral("partly-fitting' applied in part")),
           qPrintable(m_window->warningText()));
  QVERIFY(m_window->findChild<QWidget*>(QStringLiteral("warningLabel"))->isVisible());
  QVERIFY(m_window->errorText().isEmpty());
  QCOMPARE(latent::test::imagesIn(m_out).size(), 1);

  // The choice persists; the next generation clears the old warning first.
  m_window->saveSettings();
  QVERIFY(m_store->generation().request.loras.allow_partial);
  panel->checkBoxAt(panel->rowOf(QStringLiteral("partly-fitting")))->setChecked(false);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QVERIFY(m_window->warningText().isEmpty());
  QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 3, kTimeoutMs);
  QVERIFY(m_window->warningText().isEmpty());
}

QTEST_MAIN(TestLoraPanel)
#include "tst_lora_panel.moc"
