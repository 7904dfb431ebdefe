// The "Hires fix" group: what it puts into the request, and that a request's second pass
// (as a web-UI PNG's parameters restore it) shows again.
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QRadioButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/image/parameters_text.h"
#include "ui/hires_panel.h"
#include "ui/main_window.h"
#include "ui/settings_store.h"

using latent::api::GenerationRequest;
using latent::ui::HiresPanel;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

class TestHiresPanel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void offByDefault() {
    HiresPanel panel;
    const auto r = panel.request(GenerationRequest());
    QVERIFY(!r.second_pass.enabled);
    QCOMPARE(r.second_pass.upscaler, std::string("latent"));
    QVERIFY(!panel.widthSpin()->isEnabled());
    QVERIFY(panel.scaleSpin()->isEnabled());
  }

  void fillsTheSecondPass() {
    HiresPanel panel;
    QSignalSpy changed(&panel, &HiresPanel::changed);
    panel.group()->setChecked(true);
    panel.upscalerCombo()->setCurrentIndex(panel.upscalerCombo()->findText("Latent (bicubic antialiased)"));
    panel.scaleSpin()->setValue(1.5);
    panel.stepsSpin()->setValue(12);
    panel.strengthSpin()->setValue(0.45);
    QVERIFY(changed.count() >= 5);
    GenerationRequest base;
    base.prompt = "kept";
    auto r = panel.request(base);
    QCOMPARE(r.prompt, std::string("kept"));
    QVERIFY(r.second_pass.enabled);
    QCOMPARE(r.second_pass.upscaler, std::string("latent-bicubic-antialiased"));
    QCOMPARE(r.second_pass.scale, 1.5);
    QCOMPARE(r.second_pass.width, 0);
    QCOMPARE(r.second_pass.steps, 12);
    QCOMPARE(r.second_pass.denoising_strength, 0.45);
    // To a size: the factor is not used, the sides are.
    panel.toSizeButton()->setChecked(true);
    QVERIFY(panel.widthSpin()->isEnabled());
    QVERIFY(!panel.scaleSpin()->isEnabled());
    panel.widthSpin()->setValue(1280);
    panel.heightSpin()->setValue(0);
    r = panel.request(base);
    QCOMPARE(r.second_pass.width, 1280);
    QCOMPARE(r.second_pass.height, 0);
  }

  void restoresAWebUiPicturesSettings() {
    const auto restored = latent::image::parse_parameters(
                              "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
                              "Denoising strength: 0.35, Hires resize: 1024x768, Hires steps: 8, "
                              "Hires upscaler: Latent (nearest-exact)")
                              .to_request(GenerationRequest());
    HiresPanel panel;
    panel.setRequest(restored);
    QVERIFY(panel.group()->isChecked());
    QCOMPARE(panel.upscalerCombo()->currentText(), QString("Latent (nearest-exact)"));
    QVERIFY(panel.toSizeButton()->isChecked());
    QCOMPARE(panel.widthSpin()->value(), 1024);
    QCOMPARE(panel.heightSpin()->value(), 768);
    QCOMPARE(panel.stepsSpin()->value(), 8);
    QCOMPARE(panel.strengthSpin()->value(), 0.35);
    const auto again = panel.request(GenerationRequest());
    QCOMPARE(again.second_pass.upscaler, std::string("latent-nearest-exact"));
    QCOMPARE(again.second_pass.width, 1024);
  }

  void upscalerFilesJoinTheList() {
    GenerationRequest r;
    r.second_pass.enabled = true;
    r.second_pass.upscaler = "/models/upscalers/4x-UltraSharp.safetensors";
    HiresPanel panel;
    const int builtIns = panel.upscalerCombo()->count();
    panel.setRequest(r);
    QCOMPARE(panel.upscalerCombo()->count(), builtIns + 1);
    QCOMPARE(panel.upscalerCombo()->currentText(), QString("4x-UltraSharp"));
    QCOMPARE(panel.request(GenerationRequest()).second_pass.upscaler, r.second_pass.upscaler);
    panel.setRequest(r);  // the same file again: no second entry
    QCOMPARE(panel.upscalerCombo()->count(), builtIns + 1);
    panel.setRequest(GenerationRequest());
    QVERIFY(!panel.group()->isChecked());
    QCOMPARE(panel.upscalerCombo()->currentText(), QString("Latent"));
    QVERIFY(panel.byFactorButton()->isChecked());
  }

  void windowKeepsTheSettings() {
    // The window's dock: its choices are saved with the other settings and come back.
    QTemporaryDir dir;
    const QString ini = dir.filePath("settings.ini");
    {
      SettingsStore store(ini);
      MainWindow window(&store);
      QVERIFY(window.hiresPanel());
      QVERIFY(window.findChild<QDockWidget*>("hiresDock"));
      window.hiresPanel()->group()->setChecked(true);
      window.hiresPanel()->strengthSpin()->setValue(0.4);
      window.hiresPanel()->stepsSpin()->setValue(9);
      window.close();  // saves
    }
    SettingsStore store(ini);
    const auto pass = store.generation().request.second_pass;
    QVERIFY(pass.enabled);
    QCOMPARE(pass.denoising_strength, 0.4);
    QCOMPARE(pass.steps, 9);
    MainWindow window(&store);
    QVERIFY(window.hiresPanel()->group()->isChecked());
    QCOMPARE(window.hiresPanel()->stepsSpin()->value(), 9);
  }
};

QTEST_MAIN(TestHiresPanel)
#include "tst_hires_panel.moc"
