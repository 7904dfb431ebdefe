// The ControlNet dock: enabled units become the request's control units with every setting,
// a request's units come back into the widgets ("use these settings"), the preview is the
// preprocessor's map (Canny as OpenCV makes it) and can be saved, each preprocessor shows its
// own parameters, and a picture dropped on a unit lands there. Through the window: the
// dock's unit guides a generation of the tiny model to diffusers' picture, the PNG records
// it, "use these settings" and a new window bring it back.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/control/preprocessors.h"
#include "core/image/image_prep.h"
#include "core/image/png_metadata.h"
#include "ui/control_panel.h"
#include "ui/generation_queue.h"
#include "ui/image_conversion.h"
#include "ui/image_metadata.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::ControlPanel;
namespace api = latent::api;

namespace {

const QString kData = QStringLiteral(LATENT_TEST_DATA "/controlnet");
QString picture() { return kData + "/golden/inputs/canny_image_a_h64_w64.png"; }
QString net() { return kData + "/models/tiny-controlnet-a"; }

QImage expectedCanny(double low, double high) {
  const cv::Mat map =
      latent::control::canny_map(latent::image::load_image_rgb(picture().toStdString()), low, high);
  return latent::ui::toQImage(latent::image::mat_to_image(map));
}

bool samePixels(const QImage& a, const QImage& b) {
  return a.size() == b.size() &&
         a.convertToFormat(QImage::Format_RGB888) == b.convertToFormat(QImage::Format_RGB888);
}

}  // namespace

class TestControlPanel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void enabledUnitsGoIntoTheRequest() {
    ControlPanel panel;
    const api::GenerationRequest empty;  // named: GCC 12 warns falsely about braced temporaries
    QCOMPARE(panel.request(empty).control_units.size(), size_t{0});
    QSignalSpy changed(&panel, &ControlPanel::changed);
    panel.modelEdit(1)->setText(net());
    panel.imageEdit(1)->setText(picture());
    panel.preprocessorCombo(1)->setCurrentIndex(panel.preprocessorCombo(1)->findData("canny"));
    panel.aSpin(1)->setValue(50);
    panel.bSpin(1)->setValue(150);
    panel.resizeCombo(1)->setCurrentIndex(panel.resizeCombo(1)->findData("crop"));
    panel.weightSlider(1)->setValue(80);  // 0.8
    panel.startSpin(1)->setValue(0.1);
    panel.endSpin(1)->setValue(0.9);
    panel.enableBox(1)->setChecked(true);
    panel.guessModeBox()->setChecked(true);
    QVERIFY(changed.count() > 0);
    QCOMPARE(panel.enabledCount(), 1);
    const api::GenerationRequest base;
    const auto r = panel.request(base);
    QCOMPARE(r.control_units.size(), size_t{1});
    const api::ControlUnit& unit = r.control_units[0];
    QCOMPARE(QString::fromStdString(unit.model_path), net());
    QCOMPARE(QString::fromStdString(unit.image_path), picture());
    QCOMPARE(unit.preprocessor, std::string("canny"));
    QCOMPARE(unit.threshold_a, 50.0);
    QCOMPARE(unit.threshold_b, 150.0);
    QCOMPARE(unit.resize_mode, std::string("crop"));
    QCOMPARE(unit.weight, 0.8);
    QCOMPARE(unit.guidance_start, 0.1);
    QCOMPARE(unit.guidance_end, 0.9);
    QVERIFY(r.control_guess_mode);
    // Unchecked: nothing goes into the request, guess mode neither.
    panel.enableBox(1)->setChecked(false);
    QVERIFY(panel.request(base).control_units.empty());
    QVERIFY(!panel.request(base).control_guess_mode);
  }

  void restoresARequest() {
    api::GenerationRequest request;
    api::ControlUnit scribble;
    scribble.model_path = net().toStdString();
    scribble.image_path = picture().toStdString();
    scribble.preprocessor = "scribble";
    scribble.threshold_a = 90;
    scribble.weight = 1.3;
    scribble.guidance_end = 0.5;
    scribble.resize_mode = "fill";
    api::ControlUnit tile = scribble;
    tile.preprocessor = "tile";
    tile.threshold_a = 8;
    tile.threshold_b = 2;
    request.control_units = {scribble, tile};
    ControlPanel panel;
    panel.setRequest(request);
    QVERIFY(panel.enableBox(0)->isChecked() && panel.enableBox(1)->isChecked() &&
            !panel.enableBox(2)->isChecked());
    QCOMPARE(panel.weightSlider(0)->value(), 130);
    const api::GenerationRequest empty;  // named: GCC 12 warns falsely about braced temporaries
    const auto back = panel.request(empty);
    QCOMPARE(back.control_units.size(), size_t{2});
    QCOMPARE(back.control_units[0].preprocessor, std::string("scribble"));
    QCOMPARE(back.control_units[0].threshold_a, 90.0);
    QCOMPARE(back.control_units[0].threshold_b, -1.0);  // scribble has one parameter
    QCOMPARE(back.control_units[0].weight, 1.3);
    QCOMPARE(back.control_units[0].guidance_end, 0.5);
    QCOMPARE(back.control_units[0].resize_mode, std::string("fill"));
    QCOMPARE(back.control_units[1].threshold_a, 8.0);
    QCOMPARE(back.control_units[1].threshold_b, 2.0);
    // A request without units clears the panel.
    panel.setRequest(empty);
    QCOMPARE(panel.enabledCount(), 0);
    QVERIFY(panel.imageEdit(0)->text().isEmpty());
  }

  void previewIsTheMapAndCanBeSaved() {
    ControlPanel panel;
    QVERIFY(panel.mapPreview(0).isNull());
    panel.imageEdit(0)->setText(picture());
    QVERIFY(!panel.mapPreview(0).isNull());  // "none": the picture itself
    panel.preprocessorCombo(0)->setCurrentIndex(panel.preprocessorCombo(0)->findData("canny"));
    QVERIFY(samePixels(panel.mapPreview(0), expectedCanny(100, 200)));
    panel.aSpin(0)->setValue(50);
    panel.bSpin(0)->setValue(150);
    QVERIFY(samePixels(panel.mapPreview(0), expectedCanny(50, 150)));
    QVERIFY(!panel.previewLabel(0)->pixmap().isNull());
    QTemporaryDir dir;
    const QString path = dir.filePath("map.png");
    QVERIFY(panel.saveMap(0, path));
    QVERIFY(samePixels(QImage(path), expectedCanny(50, 150)));
    QString error;
    QVERIFY(!panel.saveMap(2, dir.filePath("none.png"), &error));
    QVERIFY(error.contains("no picture"));
    // A picture that does not exist: the reason instead of a map.
    panel.imageEdit(0)->setText(dir.filePath("missing.png"));
    QVERIFY(panel.mapPreview(0).isNull());
    QVERIFY(!panel.previewMessage(0).isEmpty());
  }

  void parametersFollowThePreprocessor() {
    ControlPanel panel;
    panel.show();
    QCOMPARE(panel.aSpin(0)->isVisible(), false);  // "none" has no parameters
    panel.preprocessorCombo(0)->setCurrentIndex(panel.preprocessorCombo(0)->findData("canny"));
    QVERIFY(panel.aSpin(0)->isVisible() && panel.bSpin(0)->isVisible());
    QCOMPARE(panel.aLabel(0)->text(), QString("Low threshold"));
    QCOMPARE(panel.aSpin(0)->value(), 100.0);
    QCOMPARE(panel.bSpin(0)->value(), 200.0);
    panel.preprocessorCombo(0)->setCurrentIndex(panel.preprocessorCombo(0)->findData("inpaint"));
    panel.imageEdit(0)->setText(picture());
    QVERIFY(panel.previewMessage(0).contains("mask"));
    // Every preprocessor is offered.
    QCOMPARE(panel.preprocessorCombo(0)->count(),
             static_cast<int>(latent::control::preprocessors().size()));
  }

  void droppedFilesLandInAUnit() {
    ControlPanel panel;
    panel.resize(400, 1400);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    // On the second unit's box: its picture and its model.
    const QPoint second = panel.enableBox(1)->mapTo(&panel, QPoint(2, 2));
    panel.dropFile(picture(), second);
    panel.dropFile(net(), second);
    QCOMPARE(panel.imageEdit(1)->text(), picture());
    QCOMPARE(panel.modelEdit(1)->text(), net());
    QVERIFY(panel.enableBox(1)->isChecked());
    QVERIFY(!panel.enableBox(0)->isChecked());
    // Outside every unit: the first.
    panel.dropFile(picture(), QPoint(1, 1));
    QCOMPARE(panel.imageEdit(0)->text(), picture());
  }

  void generatesWithTheWindow() {
    QTemporaryDir dir;
    latent::ui::SettingsStore store(dir.filePath("settings.ini"));
    store.setOutputDir(dir.filePath("out"));
    auto window = std::make_unique<latent::ui::MainWindow>(&store);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    // diffusers' case cn_edges_euler_a_s1.0 (tests/data/controlnet/golden).
    window->modelPicker()->setModelPath(latent::test::tinyModelPath());
    window->promptPanel()->setPrompt("a modern house with large windows");
    window->promptPanel()->setNegativePrompt("");
    auto* parameters = window->parametersPanel();
    parameters->stepsSpin()->setValue(10);
    parameters->guidanceSpin()->setValue(7.5);
    parameters->samplerCombo()->setCurrentIndex(parameters->samplerCombo()->findData("euler_a"));
    parameters->seedEdit()->setText("100");
    parameters->setSeedLocked(true);
    parameters->widthSpin()->setValue(64);
    parameters->heightSpin()->setValue(64);
    ControlPanel* panel = window->controlPanel();
    panel->modelEdit(0)->setText(net());
    panel->imageEdit(0)->setText(kData + "/golden/inputs/edges_a_64_64.png");
    panel->enableBox(0)->setChecked(true);

    auto* queue = window->generationQueue();
    QSignalSpy finished(queue, &latent::ui::GenerationQueue::jobFinished);
    QSignalSpy failed(queue, &latent::ui::GenerationQueue::jobFailed);
    QTest::mouseClick(window->generateButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
    QVERIFY2(failed.isEmpty(), qPrintable(window->errorText()));
    const auto output = finished.at(0).at(1).value<latent::ui::GenerationOutput>();
    QCOMPARE(output.savedPaths.size(), 1);
    const QString saved = output.savedPaths.first();
    // diffusers' picture, within its one level.
    const QImage picture = QImage(saved).convertToFormat(QImage::Format_RGB888);
    QFile golden(kData + "/golden/cn_edges_euler_a_s1.0/image_uint8.npy");
    QVERIFY(golden.open(QIODevice::ReadOnly));
    const QByteArray npy = golden.readAll();
    const QByteArray pixels = npy.right(64 * 64 * 3);  // after the .npy header, [1,64,64,3] uint8
    int worst = 0;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64 * 3; ++x)
        worst = std::max(
            worst, std::abs(int(picture.constScanLine(y)[x]) - int(uchar(pixels[y * 64 * 3 + x]))));
    QVERIFY2(worst <= 1, qPrintable(QString("pixels differ by %1").arg(worst)));
    // The PNG names the unit as the web UI does, and restoring brings it back.
    QString parameters_text;
    for (const auto& [key, text] : latent::image::read_png_text_file(saved.toStdString()))
      if (key == "parameters") parameters_text = QString::fromStdString(text);
    QVERIFY2(parameters_text.contains("ControlNet 0: \"Module: none, Model: tiny-controlnet-a ["),
             qPrintable(parameters_text));
    const api::GenerationRequest noBase;
    const auto restored = latent::ui::readImageSettings(saved, noBase);
    QCOMPARE(restored.request.control_units.size(), size_t{1});
    QCOMPARE(QString::fromStdString(restored.request.control_units[0].model_path), net());
    panel->setRequest(noBase);
    QCOMPARE(panel->enabledCount(), 0);
    panel->setRequest(restored.request);
    QCOMPARE(panel->modelEdit(0)->text(), net());
    QVERIFY(panel->enableBox(0)->isChecked());
    // A new window comes back with the unit.
    window->saveSettings();
    window.reset();
    latent::ui::MainWindow again(&store);
    QCOMPARE(again.controlPanel()->modelEdit(0)->text(), net());
    QVERIFY(again.controlPanel()->enableBox(0)->isChecked());
  }
};

QTEST_MAIN(TestControlPanel)
#include "tst_control_panel.moc"
