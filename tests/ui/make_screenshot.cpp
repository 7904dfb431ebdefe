// Renders the README screenshot: the real window after a few generations with the tiny
// test model, the gallery filled and the newest image selected. Run under Xvfb:
//   xvfb-run -s "-screen 0 1600x1000x24" build/bin/make_screenshot docs/screenshot.png
#include <QApplication>
#include <QListView>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/generation_queue.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"

#include <QComboBox>
#include <QLineEdit>
#include <QSpinBox>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  if (argc < 2) {
    qWarning("usage: make_screenshot OUTPUT.png");
    return 2;
  }
  const QString output = QString::fromLocal8Bit(argv[1]);
  QTemporaryDir dir;
  latent::ui::SettingsStore store(dir.filePath(QStringLiteral("settings.ini")));
  store.setOutputDir(dir.filePath(QStringLiteral("Latent Studio")));
  latent::ui::MainWindow window(&store);
  window.resize(1400, 860);
  window.modelPicker()->setModelPath(QStringLiteral(LATENT_TEST_DATA "/tiny-sd"));
  window.promptPanel()->setPrompt(
      QStringLiteral("a lighthouse on a rocky cliff at dusk, warm light in the windows, crashing waves, oil painting"));
  window.promptPanel()->setNegativePrompt(QStringLiteral("blurry, lowres, oversaturated"));
  auto* parameters = window.parametersPanel();
  parameters->stepsSpin()->setValue(20);
  parameters->widthSpin()->setValue(64);
  parameters->heightSpin()->setValue(64);
  parameters->seedEdit()->setText(QStringLiteral("1234"));
  parameters->setSeedLocked(false);
  parameters->findChild<QSpinBox*>(QStringLiteral("batchSize"))->setValue(2);
  parameters->findChild<QSpinBox*>(QStringLiteral("batchCount"))->setValue(6);
  window.show();

  // Fill the gallery first, then catch the last run half way.
  window.generate();
  while (window.generationQueue()->isBusy()) QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
  for (int i = 0; i < 40; ++i) QCoreApplication::processEvents(QEventLoop::AllEvents, 50), QThread::msleep(25);
  auto* view = window.galleryView();
  view->listView()->setCurrentIndex(view->filterModel()->index(0, 0));

  parameters->findChild<QSpinBox*>(QStringLiteral("batchCount"))->setValue(1);
  parameters->stepsSpin()->setValue(30);
  bool grabbed = false;
  bool ok = false;
  QObject::connect(window.generationQueue(), &latent::ui::GenerationQueue::progress, &window,
                   [&](quint64, const latent::ui::GenerationProgress& p) {
                     if (grabbed || p.step < p.totalSteps / 2) return;
                     grabbed = true;
                     ok = window.grab().save(output);
                   });
  window.generate();
  while (window.generationQueue()->isBusy()) QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
  qInfo("%s %s", ok ? "wrote" : "could not write", qPrintable(output));
  return ok ? 0 : 1;
}
