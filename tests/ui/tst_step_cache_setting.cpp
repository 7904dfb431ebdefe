// The "Faster, approximate" check box (the step cache): what it puts into the request, that
// a picture's settings with a step cache turn it on again with their interval, and that the
// setting persists.
#include <QCheckBox>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/image/parameters_text.h"
#include "ui/parameters_panel.h"
#include "ui/settings_store.h"

using latent::api::GenerationRequest;
using latent::ui::ParametersPanel;

class TestStepCacheSetting : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void offByDefault() {
    ParametersPanel panel;
    QVERIFY(!panel.stepCacheCheck()->isChecked());
    QCOMPARE(panel.request(GenerationRequest()).sampling.step_cache, 1);
  }

  void checkedCachesEveryThirdStep() {
    ParametersPanel panel;
    QSignalSpy changed(&panel, &ParametersPanel::changed);
    panel.stepCacheCheck()->setChecked(true);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(panel.request(GenerationRequest()).sampling.step_cache, 3);
    panel.stepCacheCheck()->setChecked(false);
    QCOMPARE(panel.request(GenerationRequest()).sampling.step_cache, 1);
  }

  // "Use these settings" on a picture made with `--step-cache 5` keeps its interval.
  void restoresAPicturesInterval() {
    ParametersPanel panel;
    const auto parsed =
        latent::image::parse_parameters("a red circle\nSteps: 20, Seed: 3, Step cache: 5");
    panel.setRequest(parsed.to_request(panel.request(GenerationRequest())));
    QVERIFY(panel.stepCacheCheck()->isChecked());
    QCOMPARE(panel.request(GenerationRequest()).sampling.step_cache, 5);
    // A picture without the field turns it off.
    panel.setRequest(
        latent::image::parse_parameters("a red circle\nSteps: 20, Seed: 3, Size: 64x64")
            .to_request(panel.request(GenerationRequest())));
    QVERIFY(!panel.stepCacheCheck()->isChecked());
    QCOMPARE(panel.request(GenerationRequest()).sampling.step_cache, 1);
  }

  void persists() {
    QTemporaryDir dir;
    latent::ui::SettingsStore store(dir.filePath("settings.ini"));
    QCOMPARE(store.generation().request.sampling.step_cache, 1);
    auto settings = store.generation();
    settings.request.sampling.step_cache = 4;
    store.setGeneration(settings);
    QCOMPARE(latent::ui::SettingsStore(dir.filePath("settings.ini"))
                 .generation()
                 .request.sampling.step_cache,
             4);
  }
};

QTEST_MAIN(TestStepCacheSetting)
#include "tst_step_cache_setting.moc"
