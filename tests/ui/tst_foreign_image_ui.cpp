// Other programs' images in the window: dropped on the image details or opened, they show
// their settings and the program that made them; "Use these settings" restores what maps
// onto the form and says what it left out. The files are tests/data/metadata's, written to
// each program's documented shape.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>

#include <memory>

#include "ui/gallery_view.h"
#include "ui/image_details.h"
#include "ui/main_window.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::ImageDetails;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

namespace {

QString metadataFile(const QString& name) { return QStringLiteral(LATENT_TEST_DATA "/metadata/") + name; }

// Drags `path` over `target` and drops it there, as a file manager does.
bool dropFile(QWidget* target, const QString& path) {
  QMimeData data;
  data.setUrls({QUrl::fromLocalFile(path)});
  const QPoint centre = target->rect().center();
  QDragEnterEvent enter(centre, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &enter);
  if (!enter.isAccepted()) return false;
  QDropEvent drop(centre, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &drop);
  return drop.isAccepted();
}

QString captionOf(ImageDetails* details) {
  QString caption;
  for (QLabel* label : details->findChildren<QLabel*>())
    if (label->text().contains(QStringLiteral(" × ")) || label->text().contains(QStringLiteral("cannot be read")))
      caption = label->text();
  return caption;
}

}  // namespace

class TestForeignImageUi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void init();
  void cleanup();
  void droppedComfyUiImageShowsItsSettings();
  void webPShowsItsPictureAndSettings();
  void useTheseSettingsRestoresWhatMapsAndSaysWhatNot();
  void openedJpegFromFooocusRestores();
  void plainImageSaysItHasNoSettings();

 private:
  ImageDetails* details() const { return m_window->galleryView()->details(); }

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
};

void TestForeignImageUi::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  m_store = latent::test::settingsIn(*m_dir);
  m_window = latent::test::shownWindow(m_store.get());
  QVERIFY(m_window);
}

void TestForeignImageUi::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

void TestForeignImageUi::droppedComfyUiImageShowsItsSettings() {
  QVERIFY(dropFile(details(), metadataFile(QStringLiteral("comfyui.png"))));
  QCOMPARE(details()->path(), metadataFile(QStringLiteral("comfyui.png")));
  QCOMPARE(details()->source(), QStringLiteral("ComfyUI"));
  QVERIFY2(captionOf(details()).contains(QStringLiteral("made with ComfyUI")), qPrintable(captionOf(details())));
  const QString text = details()->parametersText();
  QVERIFY2(text.startsWith(QStringLiteral("beautiful scenery nature glass bottle landscape")), qPrintable(text));
  QVERIFY2(text.contains(QStringLiteral("Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 8")), qPrintable(text));
  QVERIFY2(details()->unmappedNote().contains(QStringLiteral("strength_clip of detail_tweaker: 1")),
           qPrintable(details()->unmappedNote()));
  QVERIFY(details()->findChild<QLabel*>(QStringLiteral("imageUnmapped"))->isVisible());
  // A text file with an image's name is refused at the door.
  QMimeData text_file;
  text_file.setUrls({QUrl::fromLocalFile(QStringLiteral(LATENT_TEST_DATA "/metadata/make_metadata_files.py"))});
  QVERIFY(ImageDetails::imageFileIn(&text_file).isEmpty());
}

void TestForeignImageUi::webPShowsItsPictureAndSettings() {
  QVERIFY(dropFile(details(), metadataFile(QStringLiteral("webui_le.webp"))));
  const QString caption = captionOf(details());
  QVERIFY2(caption.contains(QStringLiteral("8 × 8")) && caption.contains(QStringLiteral("AUTOMATIC1111 web UI v1.9.4")),
           qPrintable(caption));
  QVERIFY(details()->parametersText().contains(QStringLiteral("a lighthouse in a storm ☂")));
}

void TestForeignImageUi::useTheseSettingsRestoresWhatMapsAndSaysWhatNot() {
  QVERIFY(dropFile(details(), metadataFile(QStringLiteral("comfyui.png"))));
  QTest::mouseClick(details()->findChild<QPushButton*>(QStringLiteral("useSettings")), Qt::LeftButton);
  const auto s = m_window->formSettings();
  QCOMPARE(s.request.prompt, std::string("beautiful scenery nature glass bottle landscape, purple galaxy bottle"));
  QCOMPARE(s.request.negative_prompt, std::string("text, watermark"));
  QCOMPARE(s.request.sampling.steps, 20);
  QCOMPARE(s.request.sampling.sampler, std::string("dpmpp_2m_karras"));
  QCOMPARE(s.request.sampling.guidance_scale, 8.0);
  QCOMPARE(s.request.sampling.seed, uint64_t(156680208700286));
  QCOMPARE(s.request.size.width, 512);
  QCOMPARE(s.request.size.height, 768);
  QCOMPARE(s.request.sampling.clip_skip, 2);
  const QString status = m_window->statusText();
  QVERIFY2(status.startsWith(QStringLiteral("Settings from ComfyUI restored")), qPrintable(status));
  QVERIFY2(status.contains(QStringLiteral("not restored: strength_clip of detail_tweaker: 1")), qPrintable(status));
  // The LoRA folder here is empty: the two LoRAs the graph loads are named as missing.
  QVERIFY2(status.contains(QStringLiteral("watercolor")) && status.contains(QStringLiteral("detail_tweaker")), qPrintable(status));
}

void TestForeignImageUi::openedJpegFromFooocusRestores() {
  m_window->showImageDetails(metadataFile(QStringLiteral("fooocus_a1111.jpg")));
  QCOMPARE(details()->source(), QStringLiteral("Fooocus v2.5.5"));
  QVERIFY(m_window->statusText().contains(QStringLiteral("was made with Fooocus v2.5.5")));
  QTest::mouseClick(details()->findChild<QPushButton*>(QStringLiteral("useSettings")), Qt::LeftButton);
  const auto s = m_window->formSettings();
  QCOMPARE(s.request.prompt, std::string("a lighthouse at dawn, cinematic still"));
  QCOMPARE(s.request.sampling.sampler, std::string("dpmpp_2m_sde"));
  QCOMPARE(s.request.size.width, 1152);
  QCOMPARE(s.request.size.height, 896);
  QCOMPARE(s.request.sampling.seed, uint64_t(99));
  const QString status = m_window->statusText();
  QVERIFY2(status.contains(QStringLiteral("Sharpness: 2")) && status.contains(QStringLiteral("Schedule type: Karras")),
           qPrintable(status));
}

void TestForeignImageUi::plainImageSaysItHasNoSettings() {
  m_window->showImageDetails(metadataFile(QStringLiteral("no_settings.png")));
  QVERIFY(details()->source().isEmpty());
  QVERIFY(details()->parametersText().isEmpty());
  QVERIFY(!details()->findChild<QLabel*>(QStringLiteral("imageUnmapped"))->isVisible());
  QVERIFY(m_window->statusText().contains(QStringLiteral("carries no generation settings")));
  QVERIFY(!m_window->applyImageSettings(metadataFile(QStringLiteral("not_an_image.png"))));
}

QTEST_MAIN(TestForeignImageUi)
#include "tst_foreign_image_ui.moc"
