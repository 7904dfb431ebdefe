// Image to image and inpainting in the window: a picture comes in (opened, dropped, sent
// from the gallery or from the result), the form's strength, fitting and mask reach the
// request, bad requests are refused before queueing, and both modes run end to end on the
// real tiny models, with the step count the engine really runs and the metadata saved.
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QtTest/QtTest>
#include <memory>

#include "core/image/png_metadata.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/generation_queue.h"
#include "ui/image_details.h"
#include "ui/image_metadata.h"
#include "ui/init_image_panel.h"
#include "ui/main_window.h"
#include "ui/mask_canvas.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::GenerationOutput;
using latent::ui::GenerationProgress;
using latent::ui::GenerationQueue;
using latent::ui::ImageMode;
using latent::ui::InitImagePanel;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

namespace {

constexpr int kTimeoutMs = 120000;

// A picture with something in it: a diagonal gradient and a dark square.
QImage testPicture(int width, int height) {
  QImage picture(width, height, QImage::Format_RGB888);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      picture.setPixelColor(x, y, QColor(x * 255 / width, y * 255 / height, 128));
  for (int y = height / 4; y < height / 2; ++y)
    for (int x = width / 4; x < width / 2; ++x) picture.setPixelColor(x, y, QColor(20, 20, 20));
  return picture;
}

QString chunk(const QString& png, const char* key) {
  for (const auto& [name, text] : latent::image::read_png_text_file(png.toStdString()))
    if (name == key) return QString::fromStdString(text);
  return {};
}

// Whether `pixels` holds exactly `picture`, row by row.
bool samePixels(const latent::api::Image& pixels, const QImage& picture) {
  const QImage rgb = picture.convertToFormat(QImage::Format_RGB888);
  if (pixels.width != rgb.width() || pixels.height != rgb.height()) return false;
  for (int y = 0; y < rgb.height(); ++y)
    if (std::memcmp(pixels.rgb.data() + size_t(y) * rgb.width() * 3, rgb.constScanLine(y),
                    size_t(rgb.width()) * 3) != 0)
      return false;
  return true;
}

}  // namespace

class TestImageToImageUi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void init();
  void cleanup();
  void requestCarriesThePictureStrengthAndFit();
  void strengthSliderAndSpinBoxMoveTogether();
  void badRequestsAreRefusedBeforeQueueing();
  void droppedFileBecomesThePicture();
  void imageToImageRunsStrengthTimesStepsAndRecordsIt();
  void galleryAndResultSendTheirPicture();
  void inpaintingOnTheInpaintingModelEndToEnd();
  void settingsPersist();

 private:
  void openWindow();
  void fillForm(const QString& model, int steps);
  QString writePicture(const QString& name, const QImage& picture);
  GenerationOutput runOnce();

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
  QString m_out;
};

void TestImageToImageUi::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  m_out = m_dir->filePath(QStringLiteral("out"));
  m_store = latent::test::settingsIn(*m_dir);  // pictures saved in m_out
  openWindow();
}

void TestImageToImageUi::openWindow() {
  m_window = std::make_unique<MainWindow>(m_store.get());
  m_window->show();
  QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestImageToImageUi::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

void TestImageToImageUi::fillForm(const QString& model, int steps) {
  m_window->modelPicker()->setModelPath(model);
  m_window->promptPanel()->setPrompt(QStringLiteral("a watercolor of a harbor"));
  auto* parameters = m_window->parametersPanel();
  parameters->stepsSpin()->setValue(steps);
  parameters->seedEdit()->setText(QStringLiteral("321"));
  parameters->setSeedLocked(true);
  parameters->widthSpin()->setValue(64);
  parameters->heightSpin()->setValue(64);
  parameters->samplerCombo()->setCurrentIndex(
      parameters->samplerCombo()->findData(QStringLiteral("euler")));
}

QString TestImageToImageUi::writePicture(const QString& name, const QImage& picture) {
  const QString path = m_dir->filePath(name);
  if (!picture.save(path)) return {};
  return path;
}

GenerationOutput TestImageToImageUi::runOnce() {
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(queue, &GenerationQueue::jobFailed);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  if (!QTest::qWaitFor([&] { return finished.count() + failed.count() > 0; }, kTimeoutMs))
    return {};
  if (!failed.isEmpty())
    qWarning("generation failed: %s", qPrintable(failed.first().at(1).toString()));
  return finished.isEmpty() ? GenerationOutput{} : finished.first().at(1).value<GenerationOutput>();
}

void TestImageToImageUi::requestCarriesThePictureStrengthAndFit() {
  InitImagePanel* panel = m_window->initImagePanel();
  QCOMPARE(panel->mode(), ImageMode::Text);
  const QImage picture = testPicture(80, 48);
  const QString path = writePicture(QStringLiteral("start.png"), picture);
  QVERIFY(panel->loadPicture(path));
  QCOMPARE(panel->mode(), ImageMode::Image);  // a picture brought in is meant to be used
  QCOMPARE(panel->picturePath(), QFileInfo(path).absoluteFilePath());
  panel->strengthSpin()->setValue(0.6);
  panel->resizeCombo()->setCurrentIndex(panel->resizeCombo()->findData(QStringLiteral("crop")));

  auto request = m_window->formSettings().request;
  QVERIFY(request.init.pixels);
  QVERIFY(samePixels(*request.init.pixels, picture));
  QVERIFY(request.init.path.empty());
  QCOMPARE(request.init.strength, 0.6);
  QCOMPARE(request.init.resize_mode, std::string("crop"));
  QVERIFY(!request.mask.pixels);
  QVERIFY(latent::api::has_init_image(request));
  // "Use its size": the output takes the picture's size, within the form's 64 px minimum.
  QTest::mouseClick(panel->findChild<QToolButton*>(QStringLiteral("useInitImageSize")),
                    Qt::LeftButton);
  QCOMPARE(m_window->parametersPanel()->widthSpin()->value(), 80);
  QCOMPARE(m_window->parametersPanel()->heightSpin()->value(), 64);

  // Inpainting adds the mask, at the picture's size, white where painted.
  panel->setMode(ImageMode::Inpaint);
  panel->canvas()->setBrushSize(10);
  const QPoint at = panel->canvas()->toWidget(QPointF(20, 20)).toPoint();
  QTest::mouseClick(panel->canvas(), Qt::LeftButton, Qt::NoModifier, at);
  panel->maskBlurSpin()->setValue(6);
  panel->fullResCheck()->setChecked(true);
  panel->paddingSpin()->setValue(24);
  request = m_window->formSettings().request;
  QVERIFY(request.mask.pixels);
  QCOMPARE(request.mask.pixels->width, 80);
  QCOMPARE(request.mask.pixels->height, 48);
  QCOMPARE(int(request.mask.pixels->rgb[(20 * 80 + 20) * 3]), 255);
  QCOMPARE(int(request.mask.pixels->rgb[(40 * 80 + 70) * 3]), 0);
  QCOMPARE(request.mask.blur, 6);
  QVERIFY(request.mask.only_masked);
  QCOMPARE(request.mask.only_masked_padding, 24);

  // Text to image leaves the picture out, but keeps the settings.
  panel->setMode(ImageMode::Text);
  request = m_window->formSettings().request;
  QVERIFY(!latent::api::has_init_image(request));
  QVERIFY(!request.mask.pixels);
  QCOMPARE(request.init.strength, 0.6);
}

void TestImageToImageUi::strengthSliderAndSpinBoxMoveTogether() {
  InitImagePanel* panel = m_window->initImagePanel();
  QVERIFY(panel->loadPicture(writePicture(QStringLiteral("p.png"), testPicture(64, 64))));
  m_window->parametersPanel()->stepsSpin()->setValue(20);
  panel->strengthSlider()->setValue(35);
  QCOMPARE(panel->strengthSpin()->value(), 0.35);
  panel->strengthSpin()->setValue(0.5);
  QCOMPARE(panel->strengthSlider()->value(), 50);
  QCOMPARE(panel->stepsText(), QStringLiteral("Runs 10 of 20 steps"));
  m_window->parametersPanel()->stepsSpin()->setValue(30);
  QCOMPARE(panel->stepsText(), QStringLiteral("Runs 15 of 30 steps"));
  panel->setMode(ImageMode::Text);
  QVERIFY(panel->stepsText().isEmpty());
}

void TestImageToImageUi::badRequestsAreRefusedBeforeQueueing() {
  fillForm(latent::test::tinyModelPath(), 4);
  InitImagePanel* panel = m_window->initImagePanel();
  GenerationQueue* queue = m_window->generationQueue();

  panel->setMode(ImageMode::Image);  // no picture yet
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QVERIFY(!queue->isBusy());
  QCOMPARE(queue->pendingCount(), 0);
  QVERIFY2(m_window->errorText().contains(QStringLiteral("starting picture")),
           qPrintable(m_window->errorText()));

  QVERIFY(panel->loadPicture(writePicture(QStringLiteral("p.png"), testPicture(64, 64))));
  panel->setMode(ImageMode::Inpaint);  // nothing painted
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QVERIFY(!queue->isBusy());
  QVERIFY2(m_window->errorText().contains(QStringLiteral("mask is empty")),
           qPrintable(m_window->errorText()));

  // An unreadable file is reported, and the picture at hand stays.
  const QString junk = m_dir->filePath(QStringLiteral("junk.png"));
  QFile file(junk);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write("not a picture");
  file.close();
  QSignalSpy message(panel, &InitImagePanel::message);
  QVERIFY(!panel->loadPicture(junk));
  QCOMPARE(message.count(), 1);
  QVERIFY(message.first().at(0).toString().contains(QStringLiteral("junk.png")));
  QCOMPARE(panel->picture().size(), QSize(64, 64));
  QVERIFY(m_window->statusText().contains(QStringLiteral("junk.png")));
}

void TestImageToImageUi::droppedFileBecomesThePicture() {
  const QImage picture = testPicture(96, 64);
  const QString path = writePicture(QStringLiteral("dropped.png"), picture);
  QMimeData data;
  data.setUrls({QUrl::fromLocalFile(path)});
  const QPoint centre = m_window->rect().center();
  QDragEnterEvent enter(centre, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(m_window.get(), &enter);
  QVERIFY(enter.isAccepted());
  QDropEvent drop(centre, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(m_window.get(), &drop);
  QVERIFY(drop.isAccepted());
  InitImagePanel* panel = m_window->initImagePanel();
  QCOMPARE(panel->picture().convertToFormat(QImage::Format_RGB888), picture);
  QCOMPARE(panel->mode(), ImageMode::Image);
  QVERIFY(m_window->imageDock()->isVisible());

  // Text is not a picture: not accepted.
  QMimeData text;
  text.setText(QStringLiteral("hello"));
  QDragEnterEvent refused(centre, Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
  refused.setAccepted(false);
  QApplication::sendEvent(m_window.get(), &refused);
  QVERIFY(!refused.isAccepted());
}

void TestImageToImageUi::imageToImageRunsStrengthTimesStepsAndRecordsIt() {
  fillForm(latent::test::tinyModelPath(), 8);
  InitImagePanel* panel = m_window->initImagePanel();
  QVERIFY(panel->loadPicture(writePicture(QStringLiteral("start.png"), testPicture(64, 64))));
  panel->strengthSpin()->setValue(0.5);
  QCOMPARE(panel->stepsText(), QStringLiteral("Runs 4 of 8 steps"));
  QSignalSpy progress(m_window->generationQueue(), &GenerationQueue::progress);
  const GenerationOutput output = runOnce();
  QCOMPARE(output.images.size(), 1);
  QVERIFY(m_window->errorText().isEmpty());
  QCOMPARE(progress.count(), 4);  // int(8 × 0.5) steps, as shown
  QCOMPARE(progress.last().at(1).value<GenerationProgress>().totalSteps, 4);
  QCOMPARE(m_window->progressBar()->maximum(), 4);
  QCOMPARE(m_window->progressBar()->value(), 4);
  QCOMPARE(output.request.init.strength, 0.5);
  QVERIFY(!output.initImageHash.isEmpty());

  QCOMPARE(output.savedPaths.size(), 1);
  const QString parameters = chunk(output.savedPaths.first(), "parameters");
  QVERIFY2(parameters.contains(QStringLiteral("Denoising strength: 0.5")), qPrintable(parameters));
  QVERIFY2(parameters.contains(QStringLiteral("Init image hash: %1")
                                   .arg(output.initImageHash)),
           qPrintable(parameters));
  QVERIFY(!parameters.contains(QStringLiteral("Mask")));

  // A lower strength keeps more of the picture: fewer steps, an image closer to the start.
  panel->strengthSpin()->setValue(0.25);
  QSignalSpy progress2(m_window->generationQueue(), &GenerationQueue::progress);
  const GenerationOutput gentle = runOnce();
  QCOMPARE(gentle.images.size(), 1);
  QCOMPARE(progress2.count(), 2);
  QVERIFY(gentle.images.first() != output.images.first());

  // "Use these settings" brings the strength back and stays in image to image.
  panel->strengthSpin()->setValue(0.9);
  panel->setMode(ImageMode::Text);
  QVERIFY(m_window->applyImageSettings(output.savedPaths.first()));
  QCOMPARE(panel->strengthSpin()->value(), 0.5);
  QCOMPARE(panel->mode(), ImageMode::Image);
}

void TestImageToImageUi::galleryAndResultSendTheirPicture() {
  fillForm(latent::test::tinyModelPath(), 3);
  const GenerationOutput output = runOnce();
  QCOMPARE(output.savedPaths.size(), 1);
  const QString saved = QFileInfo(output.savedPaths.first()).absoluteFilePath();
  InitImagePanel* panel = m_window->initImagePanel();
  QVERIFY(panel->picture().isNull());

  // From the finished result.
  QVERIFY(m_window->findChild<QDockWidget*>(QStringLiteral("imageDock")));
  m_window->sendCurrentToImageToImage();
  QCOMPARE(panel->picture().convertToFormat(QImage::Format_RGB888),
           output.images.first().convertToFormat(QImage::Format_RGB888));
  QCOMPARE(panel->mode(), ImageMode::Image);

  // From the gallery's details pane.
  panel->clearPicture();
  QCOMPARE(panel->mode(), ImageMode::Text);
  QTRY_VERIFY(m_window->galleryModel()->rowOfPath(saved) >= 0);
  m_window->galleryView()->selectPath(saved);
  QCOMPARE(m_window->galleryView()->currentPath(), saved);
  auto* send =
      m_window->galleryView()->details()->findChild<QPushButton*>(QStringLiteral("sendToImage"));
  QVERIFY(send);
  QTest::mouseClick(send, Qt::LeftButton);
  QCOMPARE(panel->picturePath(), saved);
  QCOMPARE(panel->picture().convertToFormat(QImage::Format_RGB888),
           QImage(saved).convertToFormat(QImage::Format_RGB888));
  QCOMPARE(panel->mode(), ImageMode::Image);

  // From the thumbnail's context menu.
  panel->clearPicture();
  std::unique_ptr<QMenu> menu(m_window->galleryView()->contextMenu(saved));
  QAction* sendAction = nullptr;
  for (QAction* action : menu->actions())
    if (action->text() == QStringLiteral("Send to image to image")) sendAction = action;
  QVERIFY(sendAction);
  sendAction->trigger();
  QCOMPARE(panel->picturePath(), saved);
  QCOMPARE(panel->mode(), ImageMode::Image);
}

void TestImageToImageUi::inpaintingOnTheInpaintingModelEndToEnd() {
  fillForm(QStringLiteral(LATENT_TEST_DATA "/tiny-sd-inpaint"), 6);
  InitImagePanel* panel = m_window->initImagePanel();
  const QImage picture = testPicture(64, 64);
  QVERIFY(panel->loadPicture(writePicture(QStringLiteral("start.png"), picture)));
  panel->setMode(ImageMode::Inpaint);
  QVERIFY(panel->canvas()->isPaintingEnabled());
  panel->strengthSpin()->setValue(1.0);
  panel->maskBlurSpin()->setValue(2);
  // Paint a band across the middle with the mouse.
  panel->brushSpin()->setValue(12);
  const QPoint from = panel->canvas()->toWidget(QPointF(8, 32)).toPoint();
  const QPoint to = panel->canvas()->toWidget(QPointF(56, 32)).toPoint();
  QTest::mousePress(panel->canvas(), Qt::LeftButton, Qt::NoModifier, from);
  QTest::mouseMove(panel->canvas(), (from + to) / 2);
  QTest::mouseRelease(panel->canvas(), Qt::LeftButton, Qt::NoModifier, to);
  QVERIFY(panel->canvas()->hasMask());
  QVERIFY(panel->undoButton()->isEnabled());

  QSignalSpy progress(m_window->generationQueue(), &GenerationQueue::progress);
  const GenerationOutput output = runOnce();
  QCOMPARE(output.images.size(), 1);
  QVERIFY2(m_window->errorText().isEmpty(), qPrintable(m_window->errorText()));
  QCOMPARE(output.images.first().size(), QSize(64, 64));
  QCOMPARE(progress.count(), 6);
  QVERIFY(!output.maskHash.isEmpty());

  // Saved, with the mask's settings in the metadata.
  QCOMPARE(output.savedPaths.size(), 1);
  const QString saved = output.savedPaths.first();
  QCOMPARE(QImage(saved).size(), QSize(64, 64));
  QCOMPARE(latent::test::imagesIn(m_out).size(), 1);
  const QString parameters = chunk(saved, "parameters");
  QVERIFY2(parameters.contains(QStringLiteral("Mask blur: 2")), qPrintable(parameters));
  QVERIFY2(parameters.contains(QStringLiteral("Mask hash: ")), qPrintable(parameters));
  // The band was repainted: the picture changed there.
  const QImage result = QImage(saved).convertToFormat(QImage::Format_RGB888);
  int changed = 0;
  for (int x = 12; x < 52; ++x) changed += result.pixelColor(x, 32) != picture.pixelColor(x, 32);
  QVERIFY2(changed > 20, qPrintable(QString::number(changed)));

  // Restoring its settings with the picture at hand goes back to inpainting.
  panel->setMode(ImageMode::Image);
  panel->maskBlurSpin()->setValue(9);
  QVERIFY(m_window->applyImageSettings(saved));
  QCOMPARE(panel->mode(), ImageMode::Inpaint);
  QCOMPARE(panel->maskBlurSpin()->value(), 2);
}

void TestImageToImageUi::settingsPersist() {
  InitImagePanel* panel = m_window->initImagePanel();
  const QString path = writePicture(QStringLiteral("kept.png"), testPicture(72, 40));
  QVERIFY(panel->loadPicture(path));
  panel->setMode(ImageMode::Inpaint);
  panel->strengthSpin()->setValue(0.42);
  panel->resizeCombo()->setCurrentIndex(panel->resizeCombo()->findData(QStringLiteral("pad")));
  panel->maskBlurSpin()->setValue(11);
  panel->fullResCheck()->setChecked(true);
  panel->paddingSpin()->setValue(40);
  panel->brushSpin()->setValue(57);
  m_window->saveSettings();
  m_window.reset();

  openWindow();
  panel = m_window->initImagePanel();
  QCOMPARE(panel->mode(), ImageMode::Inpaint);
  QCOMPARE(panel->picturePath(), QFileInfo(path).absoluteFilePath());
  QCOMPARE(panel->picture().size(), QSize(72, 40));
  QCOMPARE(panel->strengthSpin()->value(), 0.42);
  QCOMPARE(panel->resizeCombo()->currentData().toString(), QStringLiteral("pad"));
  QCOMPARE(panel->maskBlurSpin()->value(), 11);
  QVERIFY(panel->fullResCheck()->isChecked());
  QCOMPARE(panel->paddingSpin()->value(), 40);
  QCOMPARE(panel->brushSpin()->value(), 57);
  QCOMPARE(panel->canvas()->brushSize(), 57);

  // A picture that has gone away since: back to text to image, nothing else lost.
  m_window.reset();
  QVERIFY(QFile::remove(path));
  openWindow();
  panel = m_window->initImagePanel();
  QCOMPARE(panel->mode(), ImageMode::Text);
  QVERIFY(panel->picture().isNull());
  QCOMPARE(panel->strengthSpin()->value(), 0.42);
}

QTEST_MAIN(TestImageToImageUi)
#include "tst_image_to_image_ui.moc"
