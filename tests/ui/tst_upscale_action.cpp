// The gallery's "Upscale…" and the upscaler folder: the folder lists each .safetensors
// upscaler with the scale its weights say and a pickled one greyed out with the reason; the
// hires fix and the Upscale dialog offer them; an upscale runs through the window's queue
// (progress, cancel), is saved beside the original with its parameters and the web UI's
// extras-tab keys, and joins the gallery. The hires group's second-pass sampler and prompts
// fill the request, are restored from a picture's parameters and kept in the settings.
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QImage>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest/QtTest>

#include <memory>

#include "core/image/png_metadata.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/generation_queue.h"
#include "ui/hires_panel.h"
#include "ui/image_details.h"
#include "ui/main_window.h"
#include "ui/settings_store.h"
#include "ui/upscale_dialog.h"
#include "ui/upscaler_folder.h"
#include "ui_test_support.h"

using namespace latent;
using ui::GenerationQueue;
using ui::HiresPanel;
using ui::MainWindow;
using ui::SettingsStore;
using ui::UpscalerEntry;
using ui::UpscalerFolder;

namespace {

const QString kFixtures = QStringLiteral(LATENT_TEST_DATA "/upscalers");
const api::GenerationRequest kBlank;  // what the panels fill in

std::string chunk(const QString& path, const std::string& key) {
  for (const auto& [k, text] : image::read_png_text_file(path.toStdString()))
    if (k == key) return text;
  return "(none)";
}

// A 24×16 picture with parameters of its own, as the gallery holds them.
QString writePicture(const QString& dir) {
  api::Image picture;
  picture.width = 24;
  picture.height = 16;
  for (int i = 0; i < 24 * 16 * 3; ++i) picture.rgb.push_back(static_cast<unsigned char>(i * 7));
  const QString path = QDir(dir).filePath(QStringLiteral("00001-42.png"));
  image::write_file_atomically(path.toStdString(),
                               image::encode_png(picture, {{"parameters", "a cat\nSteps: 3, Seed: 42, Size: 24x16"},
                                                           {"postprocessing", "an old note"}}));
  return path;
}

bool waitForEntries(UpscalerFolder* folder, int count) {
  return QTest::qWaitFor([&] { return !folder->isReading() && folder->entries().size() == count; }, 60000);
}

bool comboItemEnabled(const QComboBox* combo, int row) {
  return combo->model()->flags(combo->model()->index(row, 0)).testFlag(Qt::ItemIsEnabled);
}

}  // namespace

class TestUpscaleAction : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_store = std::make_unique<SettingsStore>(m_dir->filePath("settings.ini"));
    m_store->setOutputDir(m_dir->filePath("out"));
    m_window = std::make_unique<MainWindow>(m_store.get());
  }

  void cleanup() {
    m_window.reset();
    m_store.reset();
    m_dir.reset();
  }

  void folderListsScalesFromTheWeightsAndGreysOutPickles() {
    UpscalerFolder folder;
    QSignalSpy changed(&folder, &UpscalerFolder::changed);
    folder.setFolder(kFixtures);
    QVERIFY(waitForEntries(&folder, 3));
    const QList<UpscalerEntry> entries = folder.entries();
    QCOMPARE(entries[0].name, QString("2x-tiny-compact"));
    QCOMPARE(entries[0].scale, 2);
    QCOMPARE(entries[0].architecture, QString("SRVGGNetCompact"));
    QVERIFY(entries[0].usable());
    QCOMPARE(entries[1].name, QString("4x-pickled"));
    QVERIFY(!entries[1].usable());
    QVERIFY2(entries[1].problem.contains("pickle"), qPrintable(entries[1].problem));
    QVERIFY2(entries[1].problem.contains(".safetensors"), qPrintable(entries[1].problem));  // how to convert it
    QCOMPARE(entries[2].name, QString("4x-tiny-compact"));
    QCOMPARE(entries[2].scale, 4);
    QVERIFY(changed.count() >= 1);
  }

  void hiresUpscalersIncludeTheFoldersNetworks() {
    HiresPanel* hires = m_window->hiresPanel();
    QComboBox* combo = hires->upscalerCombo();
    const int builtIns = combo->count();
    hires->setFolder(kFixtures);
    QVERIFY(waitForEntries(hires->upscalerFolder(), 3));
    QTRY_COMPARE(combo->count(), builtIns + 3);
    const int network = combo->findData(kFixtures + "/4x-tiny-compact.safetensors");
    QVERIFY(network >= 0);
    QCOMPARE(combo->itemText(network), QString("4x-tiny-compact (×4)"));
    QVERIFY(comboItemEnabled(combo, network));
    const int pickled = combo->findData(kFixtures + "/4x-pickled.pth");
    QVERIFY(pickled >= 0);
    QVERIFY(!comboItemEnabled(combo, pickled));
    QVERIFY(combo->itemData(pickled, Qt::ToolTipRole).toString().contains("pickle"));
    combo->setCurrentIndex(network);
    hires->group()->setChecked(true);
    QCOMPARE(hires->request(kBlank).second_pass.upscaler, (kFixtures + "/4x-tiny-compact.safetensors").toStdString());
    // A web UI picture names the network by its file name: the folder's file is chosen.
    QVERIFY(m_window->applyParametersText("a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 64x64, "
                                          "Denoising strength: 0.5, Hires upscale: 2, Hires upscaler: 2x-tiny-compact"));
    QCOMPARE(combo->currentData().toString(), kFixtures + "/2x-tiny-compact.safetensors");
    QCOMPARE(combo->count(), builtIns + 3);
    // The folder is kept with the settings.
    m_window->saveSettings();
    QCOMPARE(SettingsStore(m_dir->filePath("settings.ini")).generation().upscalerFolder, kFixtures);
  }

  void hiresSamplerAndPromptsFillTheRequestAndComeBack() {
    HiresPanel* hires = m_window->hiresPanel();
    QCOMPARE(hires->samplerCombo()->currentText(), QString("Use same sampler"));
    QVERIFY(hires->request(kBlank).second_pass.sampler.empty());
    hires->group()->setChecked(true);
    hires->samplerCombo()->setCurrentIndex(hires->samplerCombo()->findData("dpmpp_2m_karras"));
    hires->promptEdit()->setPlainText("a cat, sharp fur");
    hires->negativePromptEdit()->setPlainText("blur");
    auto pass = hires->request(kBlank).second_pass;
    QCOMPARE(pass.sampler, std::string("dpmpp_2m_karras"));
    QCOMPARE(pass.prompt, std::string("a cat, sharp fur"));
    QCOMPARE(pass.negative_prompt, std::string("blur"));

    // Kept with the settings.
    m_window->saveSettings();
    pass = SettingsStore(m_dir->filePath("settings.ini")).generation().request.second_pass;
    QCOMPARE(pass.sampler, std::string("dpmpp_2m_karras"));
    QCOMPARE(pass.prompt, std::string("a cat, sharp fur"));

    // "Use these settings" from a web UI picture's parameters restores all of them.
    QVERIFY(m_window->applyParametersText(
        "a cat\nNegative prompt: ugly\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, "
        "Denoising strength: 0.4, Hires upscale: 2, Hires steps: 10, Hires upscaler: Lanczos, "
        "Hires sampler: DPM++ 2M, Hires schedule type: Karras, Hires prompt: a cat in the rain, "
        "Hires negative prompt: dry"));
    QVERIFY(hires->group()->isChecked());
    QCOMPARE(hires->upscalerCombo()->currentText(), QString("Lanczos"));
    QCOMPARE(hires->samplerCombo()->currentData().toString(), QString("dpmpp_2m_karras"));
    QCOMPARE(hires->promptEdit()->toPlainText(), QString("a cat in the rain"));
    QCOMPARE(hires->negativePromptEdit()->toPlainText(), QString("dry"));
    // A picture without them: the same sampler and prompts as the first pass.
    QVERIFY(m_window->applyParametersText(
        "a dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, Denoising strength: 0.4, "
        "Hires upscale: 2, Hires upscaler: Latent"));
    QCOMPARE(hires->samplerCombo()->currentText(), QString("Use same sampler"));
    QVERIFY(hires->promptEdit()->toPlainText().isEmpty());
  }

  void galleryAndDetailsOfferUpscale() {
    const QString picture = writePicture(m_window->outputDir());
    std::unique_ptr<QMenu> menu(m_window->galleryView()->contextMenu(picture));
    QStringList texts;
    for (const QAction* action : menu->actions()) texts << action->text();
    QVERIFY2(texts.contains("Upscale…"), qPrintable(texts.join(", ")));
    auto* button = m_window->galleryView()->details()->findChild<QPushButton*>("upscaleImage");
    QVERIFY(button);
    QSignalSpy wanted(m_window->galleryView(), &ui::GalleryView::upscaleRequested);
    m_window->galleryView()->details()->showImage(picture);
    // The window asks how with its dialog; it is dismissed here, and nothing is queued.
    QString dialogName;
    QTimer::singleShot(0, this, [&dialogName] {
      if (QWidget* dialog = QApplication::activeModalWidget()) {
        dialogName = dialog->objectName();
        qobject_cast<QDialog*>(dialog)->reject();
      }
    });
    button->click();
    QCOMPARE(dialogName, QString("upscaleDialog"));
    QVERIFY(!m_window->generationQueue()->isBusy());
    QCOMPARE(wanted.count(), 1);
    QCOMPARE(wanted.at(0).at(0).toString(), picture);
  }

  void dialogOffersPictureUpscalersWithTheirOwnScale() {
    const QString picture = writePicture(m_dir->path());
    UpscalerFolder folder;
    folder.setFolder(kFixtures);
    QVERIFY(waitForEntries(&folder, 3));
    ui::UpscaleDialog dialog(picture, &folder);
    QComboBox* combo = dialog.upscalerCombo();
    QVERIFY(combo->findData("latent") < 0);  // a finished picture has no latents
    QVERIFY(combo->findData("lanczos") >= 0);
    // The first usable network is chosen, at its own factor.
    QCOMPARE(combo->currentData().toString(), kFixtures + "/2x-tiny-compact.safetensors");
    QCOMPARE(dialog.scaleSpin()->value(), 2.0);
    combo->setCurrentIndex(combo->findData(kFixtures + "/4x-tiny-compact.safetensors"));
    QCOMPARE(dialog.scaleSpin()->value(), 4.0);
    QCOMPARE(dialog.sizeText(), QString("24 × 16 → 96 × 64"));
    QVERIFY(!comboItemEnabled(combo, combo->findData(kFixtures + "/4x-pickled.pth")));
    const ui::UpscaleJob job = dialog.job();
    QCOMPARE(job.sourcePath, picture);
    QCOMPARE(job.scale, 4.0);
  }

  void upscaleRunsThroughTheQueueAndJoinsTheGallery() {
    const QString picture = writePicture(m_window->outputDir());
    GenerationQueue* queue = m_window->generationQueue();
    QSignalSpy finished(queue, &GenerationQueue::jobFinished);
    QSignalSpy progress(queue, &GenerationQueue::progress);
    QSignalSpy failed(queue, &GenerationQueue::jobFailed);
    ui::UpscaleJob job{picture, kFixtures + "/4x-tiny-compact.safetensors", 4.0};
    m_window->queueUpscale(job);
    QVERIFY(finished.wait(60000));
    QCOMPARE(failed.count(), 0);
    // Progress counts the tiles of the network's pass (one tile for so small a picture).
    QVERIFY(progress.count() >= 1);
    const auto last = progress.last().at(1).value<ui::GenerationProgress>();
    QVERIFY(last.tiles);
    QCOMPARE(last.step, last.totalSteps);

    const auto output = finished.first().at(1).value<ui::GenerationOutput>();
    QCOMPARE(output.savedPaths.size(), 1);
    const QString upscaled = output.savedPaths.first();
    QCOMPARE(QFileInfo(upscaled).absolutePath(), QFileInfo(picture).absolutePath());
    QCOMPARE(QFileInfo(upscaled).fileName(), QString("00001-42-4x-tiny-compact-x4.png"));
    QCOMPARE(QImage(upscaled).size(), QSize(96, 64));
    QCOMPARE(output.images.first().size(), QSize(96, 64));
    // The original's parameters, and the extras tab's keys in place of the old note.
    QCOMPARE(chunk(upscaled, "parameters"), std::string("a cat\nSteps: 3, Seed: 42, Size: 24x16"));
    QCOMPARE(chunk(upscaled, "postprocessing"),
             std::string("Postprocess upscale by: 4, Postprocess upscaler: 4x-tiny-compact"));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->galleryModel()->rowOfPath(upscaled) >= 0, 10000);
    QCOMPARE(m_window->lastSavedPaths(), QStringList{upscaled});

    // Lanczos by a factor that is not whole, and the same again: a second name.
    m_window->queueUpscale({picture, "lanczos", 1.5});
    QVERIFY(finished.wait(60000));
    const QString lanczos = finished.last().at(1).value<ui::GenerationOutput>().savedPaths.first();
    QCOMPARE(QFileInfo(lanczos).fileName(), QString("00001-42-Lanczos-x1.5.png"));
    QCOMPARE(QImage(lanczos).size(), QSize(36, 24));
    QCOMPARE(chunk(lanczos, "postprocessing"), std::string("Postprocess upscale by: 1.5, Postprocess upscaler: Lanczos"));
    m_window->queueUpscale({picture, "lanczos", 1.5});
    QVERIFY(finished.wait(60000));
    QCOMPARE(QFileInfo(finished.last().at(1).value<ui::GenerationOutput>().savedPaths.first()).fileName(),
             QString("00001-42-Lanczos-x1.5-2.png"));
  }

  void refusalsAndCancelAreReported() {
    const QString picture = writePicture(m_window->outputDir());
    GenerationQueue* queue = m_window->generationQueue();
    QSignalSpy failed(queue, &GenerationQueue::jobFailed);
    QSignalSpy cancelled(queue, &GenerationQueue::jobCancelled);
    QSignalSpy finished(queue, &GenerationQueue::jobFinished);
    m_window->queueUpscale({picture, kFixtures + "/4x-pickled.pth", 4.0});
    QVERIFY(failed.wait(60000));
    QVERIFY2(failed.first().at(1).toString().contains("4x-pickled.pth"), qPrintable(failed.first().at(1).toString()));
    QVERIFY(m_window->errorText().contains("pickle"));
    m_window->queueUpscale({picture, "latent", 2.0});
    QVERIFY(failed.wait(60000));
    QVERIFY(failed.last().at(1).toString().contains("latents"));

    // Behind a generation, cancelled with it before it began: nothing is written.
    ui::GenerationJob generation;
    generation.model = test::tinyModel();
    generation.request = test::quickRequest("a slow one", 40);
    queue->enqueue(generation);
    m_window->queueUpscale({picture, kFixtures + "/4x-tiny-compact.safetensors", 4.0});
    QCOMPARE(queue->pendingCount(), 1);
    m_window->cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!queue->isBusy(), 60000);
    QCOMPARE(finished.count(), 0);
    QVERIFY(!QFileInfo::exists(QFileInfo(picture).dir().filePath("00001-42-4x-tiny-compact-x4.png")));
  }

 private:
  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
};

QTEST_MAIN(TestUpscaleAction)
#include "tst_upscale_action.moc"
