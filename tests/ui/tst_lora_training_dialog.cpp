// The LoRA training dialog: it refuses to start without pictures or a LoRA folder, trains
// on the tiny model with a live loss plot, writes the LoRA into the LoRA folder (where the
// main window's LoRA panel then lists it), and a cancelled run writes nothing.
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest/QtTest>

#include "core/io/safetensors.h"
#include "core/training/shapes_dataset.h"
#include "ui/lora_panel.h"
#include "ui/lora_training_dialog.h"
#include "ui/loss_plot.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::LoraTrainingDialog;

namespace {
constexpr int kTimeoutMs = 120000;
}

class TestLoraTrainingDialog : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  QString m_pictures;

  QString loraFolder() const { return m_dir.filePath(QStringLiteral("loras")); }

  // The form filled in for a run on the test hearts.
  void fillIn(LoraTrainingDialog& dialog, const QString& name, int steps, int batch) const {
    dialog.dataEdit()->setText(m_pictures);
    dialog.nameEdit()->setText(name);
    dialog.stepsSpin()->setValue(steps);
    dialog.batchSpin()->setValue(batch);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_pictures = m_dir.filePath(QStringLiteral("hearts"));
    QCOMPARE(latent::training::export_scenes(m_pictures.toStdString(), {"heart"}, 4, 64, 3).size(), std::size_t{4});
  }

  void refusesToStartWithoutPictures() {
    LoraTrainingDialog dialog(latent::test::tinyModelPath(), loraFolder());
    dialog.startButton()->click();
    QVERIFY(!dialog.isTraining());
    QVERIFY2(dialog.messageText().contains(QStringLiteral("folder of pictures")), qPrintable(dialog.messageText()));
  }

  void refusesToStartWithoutALoraFolder() {
    LoraTrainingDialog dialog(latent::test::tinyModelPath(), QString());
    dialog.dataEdit()->setText(m_pictures);
    dialog.startButton()->click();
    QVERIFY(!dialog.isTraining());
    QVERIFY2(dialog.messageText().contains(QStringLiteral("LoRA folder")), qPrintable(dialog.messageText()));
  }

  void trainsAndWritesIntoTheLoraFolder() {
    LoraTrainingDialog dialog(latent::test::tinyModelPath(), loraFolder());
    fillIn(dialog, QStringLiteral("hearts"), 6, 2);
    dialog.rankSpin()->setValue(2);
    QSignalSpy ended(&dialog, &LoraTrainingDialog::trainingEnded);
    dialog.startButton()->click();
    QVERIFY(dialog.isTraining());
    QVERIFY(!dialog.startButton()->isEnabled());
    QVERIFY(dialog.cancelButton()->isEnabled());
    QVERIFY(ended.wait(kTimeoutMs));
    const QString path = ended.at(0).at(0).toString();
    QCOMPARE(path, QDir(loraFolder()).filePath(QStringLiteral("hearts.safetensors")));
    QVERIFY2(dialog.messageText().startsWith(QStringLiteral("Saved hearts.safetensors")), qPrintable(dialog.messageText()));
    QCOMPARE(dialog.plot()->pointCount(), 6);
    QVERIFY(dialog.startButton()->isEnabled());
    const latent::io::SafetensorsFile file(path.toStdString());
    QCOMPARE(file.tensor("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight").size(0), 2);

    // The same name again is refused rather than overwritten.
    dialog.startButton()->click();
    QVERIFY(!dialog.isTraining());
    QVERIFY2(dialog.messageText().contains(QStringLiteral("exists already")), qPrintable(dialog.messageText()));
  }

  void cancelWritesNothing() {
    LoraTrainingDialog dialog(latent::test::tinyModelPath(), loraFolder());
    fillIn(dialog, QStringLiteral("cancelled"), 100000, 1);
    QSignalSpy ended(&dialog, &LoraTrainingDialog::trainingEnded);
    dialog.startButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(dialog.plot()->pointCount() >= 2, kTimeoutMs);
    dialog.cancelButton()->click();
    QVERIFY(ended.wait(kTimeoutMs));
    QCOMPARE(ended.at(0).at(0).toString(), QString());
    QVERIFY2(dialog.messageText().contains(QStringLiteral("cancelled")), qPrintable(dialog.messageText()));
    QVERIFY(!QFileInfo::exists(dialog.outputPath()));
    QCOMPARE(QDir(loraFolder()).entryList({QStringLiteral("cancelled*")}, QDir::Files | QDir::Hidden), QStringList());
  }

  // Closing the dialog mid-run cancels and waits: no crash, no file. It waits for the step in
  // flight only, so closing takes less time than the run took from Start to its third step
  // (reading the pictures, loading the model, three steps), however fast the machine is.
  void closingMidRunCancels() {
    auto* dialog = new LoraTrainingDialog(latent::test::tinyModelPath(), loraFolder());
    fillIn(*dialog, QStringLiteral("closed"), 100000, 1);
    QElapsedTimer clock;
    clock.start();
    dialog->startButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(dialog->plot()->pointCount() >= 3, kTimeoutMs);
    const qint64 toThirdStepMs = clock.elapsed();
    const QString path = dialog->outputPath();
    clock.restart();
    delete dialog;
    const qint64 closingMs = clock.elapsed();
    qInfo("closing took %lld ms; Start to the third step %lld ms", closingMs, toThirdStepMs);
    QVERIFY2(closingMs < toThirdStepMs, "closing waited for more than the step in flight");
    QVERIFY(!QFileInfo::exists(path));
  }

  // From the main window: Tools → Train a LoRA… trains into the LoRA panel's folder, and
  // the panel lists the new file.
  void mainWindowListsTheTrainedLora() {
    QTemporaryDir settingsDir;
    latent::ui::SettingsStore settings(settingsDir.filePath(QStringLiteral("settings.ini")));
    latent::ui::MainWindow window(&settings);
    window.modelPicker()->setModelPath(latent::test::tinyModelPath());
    const QString folder = m_dir.filePath(QStringLiteral("window-loras"));
    QVERIFY(QDir().mkpath(folder));
    window.loraPanel()->setFolder(folder);
    QCOMPARE(window.loraPanel()->count(), 0);
    LoraTrainingDialog* dialog = window.showLoraTraining();
    QCOMPARE(window.showLoraTraining(), dialog);  // one at a time
    fillIn(*dialog, QStringLiteral("window-hearts"), 3, 2);
    QSignalSpy ended(dialog, &LoraTrainingDialog::trainingEnded);
    dialog->startButton()->click();
    QVERIFY(ended.wait(kTimeoutMs));
    QTRY_COMPARE_WITH_TIMEOUT(window.loraPanel()->rowOf(QStringLiteral("window-hearts")), 0, 5000);
  }
};

QTEST_MAIN(TestLoraTrainingDialog)
#include "tst_lora_training_dialog.moc"
