// Renders the README's two screenshots with the real window and the bundled starter model:
//   1. mid-generation: a gallery of shapes drawn from captions, the selected picture's
//      parameters, and the preview of the next run three quarters of the way through;
//   2. an X/Y plot (shapes across, steps down) finished: its grid in the preview and at the
//      top of the gallery.
// The model field is left empty (it then shows "The starter model"), and the program works in
// a temporary folder with the relative output folder "Latent Studio", so no path of the machine
// that made them shows. Seeds are fixed, so the pictures are the same on every run.
//   ninja -C build make_screenshot
//   xvfb-run -s "-screen 0 1600x1000x24" build/bin/make_screenshot docs/screenshot.png docs/screenshot-grid.png
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QEventLoop>
#include <QLineEdit>
#include <QListView>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTemporaryDir>
#include <QTimer>

#include "core/pipeline/xyz_plan.h"
#include "core/util/starter_model.h"
#include "core/util/threads.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/generation_queue.h"
#include "ui/main_window.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui/xyz_plot_dialog.h"

namespace {

using latent::ui::MainWindow;

// Captions of the kind the starter model learned (one shape, one colour, a plain background).
const char* const kGalleryCaptions[] = {
    "a small yellow star on a purple background in the top left",
    "a large green circle on a white background in the center",
    "a small orange triangle on a black background in the bottom right",
    "a large purple square on a yellow background in the center",
    "a large white circle on a red background in the center",
    "a small blue star on an orange background in the top right",
    "a large black triangle on a green background in the center",
    "a small red square on a white background in the bottom left",
    "a large orange star on a blue background in the center",
    "a small green triangle on a purple background in the top right",
    "a large yellow square on a black background in the center",
    "a small white circle on a blue background in the bottom right",
};

// Sleeps in the event loop, leaving the processor to the generation worker.
void settle(int milliseconds) {
  QEventLoop loop;
  QTimer::singleShot(milliseconds, &loop, &QEventLoop::quit);
  loop.exec();
}

void waitForQueue(MainWindow& window) {
  while (window.generationQueue()->isBusy()) settle(50);
  settle(500);  // the gallery takes the new files in
}

void generate(MainWindow& window, const QString& prompt, int seed) {
  window.promptPanel()->setPrompt(prompt);
  window.parametersPanel()->seedEdit()->setText(QString::number(seed));
  window.generate();
}

void selectNewest(MainWindow& window) {
  auto* view = window.galleryView();
  view->listView()->setCurrentIndex(view->filterModel()->index(0, 0));
  settle(300);
}

bool save(const QImage& shot, const QString& path) {
  const bool ok = !shot.isNull() && shot.save(path);
  qInfo("%s %s", ok ? "wrote" : "could not write", qPrintable(path));
  return ok;
}

// The second screenshot: an X/Y plot through the dialog, as a person runs it.
bool plotScreenshot(MainWindow& window, const QString& output) {
  window.promptPanel()->setPrompt(QStringLiteral("a large red circle on a white background in the center"));
  window.parametersPanel()->seedEdit()->setText(QStringLiteral("7"));
  latent::ui::XyzPlotDialog* dialog = window.showXyzPlot();
  const auto setAxis = [dialog](int axis, latent::pipeline::AxisType type, const char* values) {
    dialog->typeCombo(axis)->setCurrentIndex(dialog->typeCombo(axis)->findData(static_cast<int>(type)));
    dialog->valuesEdit(axis)->setText(QString::fromUtf8(values));
  };
  setAxis(0, latent::pipeline::AxisType::prompt_sr, "circle, square, triangle, star");
  setAxis(1, latent::pipeline::AxisType::steps, "5, 10, 25");
  QImage shot;
  QObject::connect(dialog, &latent::ui::XyzPlotDialog::gridSaved, &window, [&] {
    dialog->close();
    selectNewest(window);
    shot = window.grab().toImage();
  });
  if (!dialog->run()) {
    qWarning("the plot did not start: %s", qPrintable(dialog->messageText()));
    return false;
  }
  waitForQueue(window);
  return save(shot, output);
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  if (argc < 2 || argc > 3) {
    qWarning("usage: make_screenshot MAIN.png [GRID.png]");
    return 2;
  }
  if (!latent::util::starter_model_available()) {
    qWarning("make_screenshot: the starter model is not in the resources");
    return 1;
  }
  latent::util::set_thread_count(0);
  const QString mainOutput = QFileInfo(QString::fromLocal8Bit(argv[1])).absoluteFilePath();
  const QString gridOutput = argc > 2 ? QFileInfo(QString::fromLocal8Bit(argv[2])).absoluteFilePath() : QString();
  QTemporaryDir dir;
  QDir::setCurrent(dir.path());
  latent::ui::SettingsStore store(dir.filePath(QStringLiteral("settings.ini")));
  store.setOutputDir(QStringLiteral("Latent Studio"));
  MainWindow window(&store);
  window.resize(1400, 860);
  // A form wide enough to show the model field's "The starter model (64x64), or …" in full.
  if (auto* columns = window.findChild<QSplitter*>(QStringLiteral("mainSplitter"))) columns->setSizes({470, 510, 420});
  for (QDockWidget* dock : window.findChildren<QDockWidget*>()) dock->hide();  // the View menu's extras
  auto* parameters = window.parametersPanel();
  parameters->widthSpin()->setValue(latent::util::kStarterModelSide);
  parameters->heightSpin()->setValue(latent::util::kStarterModelSide);
  parameters->stepsSpin()->setValue(25);
  parameters->setSeedLocked(true);
  window.show();

  int seed = 1;
  for (const char* caption : kGalleryCaptions) generate(window, QString::fromUtf8(caption), seed++);
  waitForQueue(window);
  selectNewest(window);

  // The first screenshot: a run of two caught three quarters through, on a full preview
  // (decoded every step: the automatic cadence follows the machine's load).
  parameters->findChild<QSpinBox*>(QStringLiteral("batchSize"))->setValue(2);
  QComboBox* preview = parameters->previewCombo();
  preview->setCurrentIndex(preview->findData(QVariantList{true, 1}));
  QImage shot;
  QObject::connect(window.generationQueue(), &latent::ui::GenerationQueue::progress, &window,
                   [&](quint64, const latent::ui::GenerationProgress& p) {
                     if (shot.isNull() && p.previewsAreVaeDecodes && 4 * p.step >= 3 * p.totalSteps)
                       shot = window.grab().toImage();
                   });
  generate(window, QString::fromUtf8(latent::util::kStarterExamplePrompt), 3);
  waitForQueue(window);
  bool ok = save(shot, mainOutput);

  parameters->findChild<QSpinBox*>(QStringLiteral("batchSize"))->setValue(1);
  if (!gridOutput.isEmpty()) ok = plotScreenshot(window, gridOutput) && ok;
  QDir::setCurrent(QDir::tempPath());  // the temporary folder is removed on the way out
  return ok ? 0 : 1;
}
