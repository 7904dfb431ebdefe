// Saved styles and wildcards in the GUI: the styles editor adds, renames, deletes and saves
// (a failed save keeps the old file), the picker beside the prompt applies the chosen styles
// to the generation (not to the prompt box), and the wildcards folder's choices and the
// template reach the saved image. Driven with mouse clicks and typing.
#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QtTest/QtTest>

#include <memory>

#include "core/image/png_metadata.h"
#include "core/text/prompt_styles.h"
#include "ui/generation_queue.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui/style_picker.h"
#include "ui/styles_dialog.h"
#include "tests/support/test_files.h"
#include "ui_test_support.h"

using latent::text::PromptStyle;
using latent::ui::StylesDialog;
using Styles = std::vector<PromptStyle>;

namespace {

constexpr int kTimeoutMs = 120000;

void write(const QString& path, const QByteArray& text) { QVERIFY(latent::test::write_file(path, text)); }

QString parametersOf(const QString& png) {
  for (const auto& [name, text] : latent::image::read_png_text_file(png.toStdString()))
    if (name == "parameters") return QString::fromStdString(text);
  return {};
}

// Replaces the text of a line edit as a user does: select all, type.
void retype(QLineEdit* edit, const QString& text) {
  edit->setFocus();
  QTest::keyClick(edit, Qt::Key_A, Qt::ControlModifier);
  QTest::keyClicks(edit, text);
}

}  // namespace

class TestPromptStylesUi : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> m_dir;
  QString path(const QString& name) const { return m_dir->filePath(name); }

 private Q_SLOTS:
  void init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    write(path("styles.csv"), "name,prompt,negative_prompt\nphoto,\"photo of {prompt}\",blurry\n");
  }

  void editorAddsRenamesDeletesAndSaves() {
    StylesDialog dialog(path("styles.csv"));
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QCOMPARE(dialog.list()->count(), 1);
    QCOMPARE(dialog.nameEdit()->text(), QStringLiteral("photo"));

    QTest::mouseClick(dialog.addButton(), Qt::LeftButton);
    QCOMPARE(dialog.list()->count(), 2);
    QCOMPARE(dialog.nameEdit()->text(), QStringLiteral("New style"));
    retype(dialog.nameEdit(), "photo");  // taken: refused, and Save waits
    QVERIFY2(dialog.errorText().contains("already a style named 'photo'"), qPrintable(dialog.errorText()));
    QVERIFY(!dialog.saveButton()->isEnabled());
    retype(dialog.nameEdit(), "grain, warm");
    QVERIFY(dialog.errorText().isEmpty());
    QVERIFY(dialog.saveButton()->isEnabled());
    QCOMPARE(dialog.list()->item(1)->text(), QStringLiteral("grain, warm"));
    dialog.promptEdit()->setFocus();
    QTest::keyClicks(dialog.promptEdit(), "film grain");
    dialog.negativeEdit()->setFocus();
    QTest::keyClicks(dialog.negativeEdit(), "cold \"blue\"");

    // Delete the first: the second stays.
    QTest::mouseClick(dialog.list()->viewport(), Qt::LeftButton, {},
                      dialog.list()->visualItemRect(dialog.list()->item(0)).center());
    QCOMPARE(dialog.nameEdit()->text(), QStringLiteral("photo"));
    QTest::mouseClick(dialog.deleteButton(), Qt::LeftButton);
    QCOMPARE(dialog.list()->count(), 1);

    QSignalSpy saved(&dialog, &StylesDialog::saved);
    QTest::mouseClick(dialog.saveButton(), Qt::LeftButton);
    QCOMPARE(saved.count(), 1);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QVERIFY(latent::text::read_styles_file(path("styles.csv").toStdString()) ==
            (Styles{{"grain, warm", "film grain", "cold \"blue\""}}));
  }

  // Files may not grow past 64 bytes (as on a full disk, for root too): the save fails,
  // says so, and the old file is whole.
  void failedSaveKeepsTheOldFile() {
    const QByteArray before = [this] {
      QFile file(path("styles.csv"));
      file.open(QIODevice::ReadOnly);
      return file.readAll();
    }();
    StylesDialog dialog(path("styles.csv"));
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QTest::mouseClick(dialog.addButton(), Qt::LeftButton);
    dialog.promptEdit()->setFocus();
    QTest::keyClicks(dialog.promptEdit(), QString(200, 'x'));
    {
      const latent::test::FileSizeLimit full(64);
      QVERIFY(full.ok());
      QTest::mouseClick(dialog.saveButton(), Qt::LeftButton);
    }
    QVERIFY2(dialog.errorText().startsWith("The styles were not saved"), qPrintable(dialog.errorText()));
    QVERIFY(dialog.isVisible());
    QFile file(path("styles.csv"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), before);
    QCOMPARE(QDir(m_dir->path()).entryList(QDir::Files), QStringList{"styles.csv"});
  }

  // A file that is not a styles file is shown as such and never overwritten.
  void unreadableFileIsNotOverwritten() {
    write(path("other.csv"), "a,b\n1,2\n");
    StylesDialog dialog(path("other.csv"));
    QVERIFY2(dialog.errorText().contains("is not a styles file"), qPrintable(dialog.errorText()));
    QVERIFY(!dialog.saveButton()->isEnabled());
  }

  // The picker's menu chooses styles; a generation uses them and the wildcards folder, the
  // prompt box keeps what was typed, and the saved image records the result and template.
  void generationUsesStylesAndWildcards() {
    write(path("wildcards/fruit.txt"), "apple\npear\n");
    latent::ui::SettingsStore store(path("settings.ini"));
    store.setOutputDir(path("out"));
    store.setStylesFile(path("styles.csv"));
    store.setWildcardsDir(path("wildcards"));
    latent::ui::MainWindow window(&store);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.modelPicker()->setModelPath(latent::test::tinyModelPath());
    window.promptPanel()->setPrompt(QStringLiteral("a red __fruit__"));
    auto* parameters = window.parametersPanel();
    parameters->stepsSpin()->setValue(3);
    parameters->widthSpin()->setValue(64);
    parameters->heightSpin()->setValue(64);
    parameters->seedEdit()->setText(QStringLiteral("5"));
    parameters->setSeedLocked(true);

    // Open the picker's menu with a click and click the "photo" entry.
    latent::ui::StylePicker* picker = window.promptPanel()->stylePicker();
    QCOMPARE(picker->styleNames(), QStringList{"photo"});
    bool clicked = false;
    QTimer::singleShot(200, [&clicked] {
      auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
      if (!menu) return;
      for (QAction* action : menu->actions())
        if (action->text() == "photo") {
          QTest::mouseClick(menu, Qt::LeftButton, {}, menu->actionGeometry(action).center());
          clicked = true;
        }
    });
    QTest::mouseClick(picker, Qt::LeftButton);
    QTRY_VERIFY(clicked);
    QCOMPARE(picker->chosen(), QStringList{"photo"});
    QVERIFY(picker->text().contains("photo"));

    auto* queue = window.generationQueue();
    QSignalSpy finished(queue, &latent::ui::GenerationQueue::jobFinished);
    QSignalSpy failed(queue, &latent::ui::GenerationQueue::jobFailed);
    QTest::mouseClick(window.generateButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, kTimeoutMs);
    QVERIFY2(failed.isEmpty(), qPrintable(window.errorText()));
    const auto output = finished.at(0).at(1).value<latent::ui::GenerationOutput>();
    const QString text = parametersOf(output.savedPaths.first());
    QVERIFY2(text.startsWith("photo of a red apple\n") || text.startsWith("photo of a red pear\n"), qPrintable(text));
    QVERIFY2(text.contains("\nNegative prompt: blurry\n"), qPrintable(text));
    QVERIFY2(text.contains("Template: photo of a red __fruit__"), qPrintable(text));
    QCOMPARE(window.promptPanel()->prompt(), QStringLiteral("a red __fruit__"));

    // Chosen styles and the file are remembered.
    window.saveSettings();
    QCOMPARE(store.chosenStyles(), QStringList{"photo"});
    QCOMPARE(store.stylesFile(), path("styles.csv"));
  }
};

QTEST_MAIN(TestPromptStylesUi)
#include "tst_prompt_styles_ui.moc"
