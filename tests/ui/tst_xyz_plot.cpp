// The X/Y/Z plot dialog as a person drives it, offscreen with the real tiny model: values
// typed in, bad values refused before anything is queued, the combinations going through the
// main window's queue, the grid (with and without its legend) saved with metadata and shown
// in the gallery, its cells the very pictures kept beside it, and Cancel ending the whole plot.
#include <QtTest/QtTest>

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include <memory>

#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/pipeline/xyz_plan.h"
#include "ui/gallery_model.h"
#include "ui/generation_queue.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui/xyz_plot_dialog.h"
#include "ui/xyz_plot_run.h"
#include "ui_test_support.h"

using latent::pipeline::AxisType;
using latent::ui::GenerationQueue;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;
using latent::ui::XyzPlotDialog;

namespace {

constexpr int kTimeoutMs = 180000;

// Picks an axis type the way a person does: the combo's entry for it, then types the values.
void setAxis(XyzPlotDialog& dialog, int axis, AxisType type, const QString& values) {
  QComboBox* combo = dialog.typeCombo(axis);
  combo->setCurrentIndex(combo->findData(static_cast<int>(type)));
  QLineEdit* edit = dialog.valuesEdit(axis);
  edit->clear();
  QTest::keyClicks(edit, values);
}

QImage rgb(const QString& path) { return QImage(path).convertToFormat(QImage::Format_RGB888); }

latent::image::ParsedParameters parametersOf(const QString& path) {
  for (const auto& [key, text] : latent::image::read_png_text_file(path.toStdString()))
    if (key == "parameters") return latent::image::parse_parameters(text);
  return {};
}

QString field(const latent::image::ParsedParameters& p, const char* key) {
  return QString::fromStdString(p.field(key).value_or(""));
}

}  // namespace

class TestXyzPlot : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void init();
  void cleanup();
  void badValuesAreShownAndNothingIsQueued();
  void gridCellsAreTheKeptPictures();
  void legendWithoutKeptPictures();
  void cancelEndsTheWholePlot();

 private:
  QStringList pngs() const { return latent::test::imagesIn(m_out); }

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
  QString m_out;
};

void TestXyzPlot::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  m_out = m_dir->filePath(QStringLiteral("out"));
  m_store = latent::test::settingsIn(*m_dir);
  m_window = latent::test::shownWindow(m_store.get());
  QVERIFY(m_window);
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  m_window->promptPanel()->setPrompt(QStringLiteral("a lighthouse on a cliff"));
  auto* parameters = m_window->parametersPanel();
  parameters->stepsSpin()->setValue(4);
  parameters->seedEdit()->setText(QStringLiteral("4242"));
  parameters->setSeedLocked(true);
  parameters->widthSpin()->setValue(64);
  parameters->heightSpin()->setValue(64);
  parameters->samplerCombo()->setCurrentIndex(parameters->samplerCombo()->findData(QStringLiteral("euler")));
}

void TestXyzPlot::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

void TestXyzPlot::badValuesAreShownAndNothingIsQueued() {
  XyzPlotDialog* dialog = m_window->showXyzPlot();
  QVERIFY(QTest::qWaitForWindowExposed(dialog));
  QCOMPARE(m_window->showXyzPlot(), dialog);  // one at a time
  setAxis(*dialog, 0, AxisType::sampler, QStringLiteral("Euler, nonsense"));
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QVERIFY2(dialog->messageText().startsWith(QStringLiteral("X axis (Sampler): 'nonsense' is not a sampler")),
           qPrintable(dialog->messageText()));
  setAxis(*dialog, 0, AxisType::steps, QStringLiteral("4, ten"));
  setAxis(*dialog, 1, AxisType::prompt_sr, QStringLiteral("harbour, bay"));
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QVERIFY2(dialog->messageText().startsWith(QStringLiteral("X axis (Steps): 'ten' is not a whole number")),
           qPrintable(dialog->messageText()));
  setAxis(*dialog, 0, AxisType::steps, QStringLiteral("4"));
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QVERIFY2(dialog->messageText().startsWith(QStringLiteral("Y axis (Prompt S/R): 'harbour' (the first value")),
           qPrintable(dialog->messageText()));
  QCOMPARE(m_window->generationQueue()->pendingCount(), 0);
  QVERIFY(!m_window->generationQueue()->isBusy());
  QVERIFY(pngs().isEmpty());
}

void TestXyzPlot::gridCellsAreTheKeptPictures() {
  XyzPlotDialog* dialog = m_window->showXyzPlot();
  QVERIFY(QTest::qWaitForWindowExposed(dialog));
  setAxis(*dialog, 0, AxisType::steps, QStringLiteral("3-4"));
  setAxis(*dialog, 1, AxisType::seed, QStringLiteral("1, 2"));
  QTest::mouseClick(dialog->legendCheck(), Qt::LeftButton, {}, QPoint(8, dialog->legendCheck()->height() / 2));
  QVERIFY(!dialog->legendCheck()->isChecked());
  QVERIFY(dialog->keepImagesCheck()->isChecked());
  QSignalSpy saved(dialog, &XyzPlotDialog::gridSaved);
  QSignalSpy finished(m_window->generationQueue(), &GenerationQueue::jobFinished);
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QVERIFY2(!dialog->runButton()->isEnabled(), qPrintable(dialog->messageText()));
  QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
  QCOMPARE(finished.count(), 4);

  const QString gridPath = saved.at(0).at(0).toStringList().value(0);
  QVERIFY2(gridPath.endsWith(QStringLiteral("-grid.png")), qPrintable(gridPath));
  QCOMPARE(pngs().size(), 5);  // four pictures and the grid
  const QImage grid = rgb(gridPath);
  QCOMPARE(grid.size(), QSize(128, 128));  // no legend: the cells alone
  QCOMPARE(saved.at(0).at(1).value<QImage>().size(), QSize(128, 128));

  // Each kept picture says which combination it is; its cell in the grid holds its pixels.
  int checked = 0;
  for (const QString& name : pngs()) {
    const QString path = QDir(m_out).filePath(name);
    if (path == gridPath) continue;
    const auto p = parametersOf(path);
    const int x = field(p, "Steps").toInt() - 3;
    const int y = field(p, "Seed").toInt() - 1;
    QVERIFY2(x >= 0 && x < 2 && y >= 0 && y < 2, qPrintable(name));
    QCOMPARE(grid.copy(x * 64, y * 64, 64, 64), rgb(path));
    ++checked;
  }
  QCOMPARE(checked, 4);
  // The cells differ: steps and seeds did change the pictures.
  QVERIFY(grid.copy(0, 0, 64, 64) != grid.copy(64, 0, 64, 64));
  QVERIFY(grid.copy(0, 0, 64, 64) != grid.copy(0, 64, 64, 64));

  const auto parameters = parametersOf(gridPath);
  QCOMPARE(QString::fromStdString(parameters.prompt), QStringLiteral("a lighthouse on a cliff"));
  QCOMPARE(field(parameters, "Steps"), QStringLiteral("3"));
  QCOMPARE(field(parameters, "Seed"), QStringLiteral("1"));
  QCOMPARE(field(parameters, "Script"), QStringLiteral("X/Y/Z plot"));
  QCOMPARE(field(parameters, "X Type"), QStringLiteral("Steps"));
  QCOMPARE(field(parameters, "X Values"), QStringLiteral("3-4"));
  QCOMPARE(field(parameters, "Y Type"), QStringLiteral("Seed"));
  QCOMPARE(field(parameters, "Fixed Y Values"), QStringLiteral("1, 2"));
  QTRY_VERIFY(m_window->galleryModel()->rowOfPath(QFileInfo(gridPath).absoluteFilePath()) >= 0);
  QVERIFY(dialog->runButton()->isEnabled());
  QVERIFY(!dialog->cancelButton()->isEnabled());
}

void TestXyzPlot::legendWithoutKeptPictures() {
  XyzPlotDialog* dialog = m_window->showXyzPlot();
  QVERIFY(QTest::qWaitForWindowExposed(dialog));
  setAxis(*dialog, 0, AxisType::guidance, QStringLiteral("1, 7.5"));
  QTest::mouseClick(dialog->keepImagesCheck(), Qt::LeftButton, {}, QPoint(8, dialog->keepImagesCheck()->height() / 2));
  QVERIFY(!dialog->keepImagesCheck()->isChecked());
  QVERIFY(dialog->legendCheck()->isChecked());
  QSignalSpy saved(dialog, &XyzPlotDialog::gridSaved);
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
  QCOMPARE(pngs().size(), 1);  // the grid alone
  const QImage grid = rgb(saved.at(0).at(0).toStringList().value(0));
  // A band of titles above the two cells; no row titles (Y is Nothing).
  QCOMPARE(grid.width(), 128);
  QVERIFY(grid.height() > 64);
  const int top = grid.height() - 64;
  QCOMPARE(grid.pixelColor(2, 2), QColor(Qt::white));
  int dark = 0;
  for (int y = 0; y < top; ++y)
    for (int x = 0; x < 64; ++x) dark += grid.pixelColor(x, y).lightness() < 128;
  QVERIFY(dark > 10);
}

void TestXyzPlot::cancelEndsTheWholePlot() {
  m_window->parametersPanel()->stepsSpin()->setValue(40);
  XyzPlotDialog* dialog = m_window->showXyzPlot();
  QVERIFY(QTest::qWaitForWindowExposed(dialog));
  setAxis(*dialog, 0, AxisType::seed, QStringLiteral("1-6"));
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy started(queue, &GenerationQueue::jobStarted);
  QSignalSpy saved(dialog, &XyzPlotDialog::gridSaved);
  QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
  QCOMPARE(queue->pendingCount() + 1, 6);
  QTRY_VERIFY_WITH_TIMEOUT(started.count() >= 1, kTimeoutMs);
  QVERIFY(dialog->cancelButton()->isEnabled());
  QTest::mouseClick(m_window->cancelButton(), Qt::LeftButton);  // the main window's Cancel
  QTRY_VERIFY_WITH_TIMEOUT(!queue->isBusy(), kTimeoutMs);
  QTRY_VERIFY(dialog->messageText().contains(QStringLiteral("cancelled")));
  QCOMPARE(queue->pendingCount(), 0);
  QVERIFY(started.count() <= 2);  // the one running, at most the next had begun
  QCOMPARE(saved.count(), 0);
  for (const QString& name : pngs()) QVERIFY2(!name.endsWith(QStringLiteral("-grid.png")), qPrintable(name));
  QVERIFY(dialog->runButton()->isEnabled());
  QVERIFY(!dialog->currentRun()->isRunning());
}

QTEST_MAIN(TestXyzPlot)
#include "tst_xyz_plot.moc"
