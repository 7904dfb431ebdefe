// Saved styles in the web UI's styles.csv: read as Python's csv.DictReader reads the file,
// applied as modules/styles.py's merge_prompts applies them, written so that the web UI and
// this program read back the same styles, and saved without ever leaving a broken file.
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/text/prompt_styles.h"
#include "tests/support/error_message.h"
#include "tests/support/test_files.h"

using latent::text::PromptStyle;
using Styles = std::vector<PromptStyle>;

class TestPromptStyles : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void readsTheWebUiFile() {
    // As the web UI writes it (BOM, CRLF), with what people add by hand.
    const std::string text =
        "\xEF\xBB\xBFname,prompt,negative_prompt\r\n"
        "Cinematic,\"cinematic still of {prompt}, film grain\",\"blurry, \"\"ugly\"\"\"\r\n"
        "# Portraits,,\r\n"
        "\r\n"
        "Vivid, vivid colors,\r\n"
        "Two lines,\"first\nsecond\",\r\n"
        "Short\r\n"
        "Vivid,very vivid colors,dull\r\n";
    const Styles expected = {{"Cinematic", "cinematic still of {prompt}, film grain", "blurry, \"ugly\""},
                             {"Vivid", "very vivid colors", "dull"},  // the later row wins, in place
                             {"Two lines", "first\nsecond", ""},
                             {"Short", "", ""}};
    QVERIFY(latent::text::parse_styles_csv(text) == expected);
    // The old two-column format.
    QVERIFY(latent::text::parse_styles_csv("name,text\nold,an old style\n") == (Styles{{"old", "an old style", ""}}));
    QVERIFY(latent::text::parse_styles_csv("").empty());
  }

  void writesWhatReadsBack() {
    const Styles styles = {{"a, b", " leading space", "quote \" inside"}, {"multi", "line\r\nbreak", ""}};
    const std::string csv = latent::text::styles_csv(styles);
    QVERIFY(csv.rfind("\xEF\xBB\xBFname,prompt,negative_prompt\r\n", 0) == 0);
    QVERIFY(latent::text::parse_styles_csv(csv) == styles);
  }

  // merge_prompts: {prompt} takes the prompt; otherwise ", " joins the trimmed, non-empty parts.
  void appliesAsTheWebUi_data() {
    QTest::addColumn<QString>("style");
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<QString>("expected");
    QTest::newRow("placeholder") << "photo of {prompt}, 35mm" << "a cat" << "photo of a cat, 35mm";
    QTest::newRow("placeholder twice") << "{prompt} and {prompt}" << "x" << "x and x";
    QTest::newRow("appended") << " film grain " << " a cat " << "a cat, film grain";
    QTest::newRow("empty prompt") << "film grain" << "" << "film grain";
    QTest::newRow("empty style") << "" << "a cat" << "a cat";
  }

  void appliesAsTheWebUi() {
    QFETCH(QString, style);
    QFETCH(QString, prompt);
    QFETCH(QString, expected);
    QCOMPARE(QString::fromStdString(latent::text::merge_style(style.toStdString(), prompt.toStdString())), expected);
  }

  void appliesInOrder() {
    const Styles styles = {{"frame", "photo of {prompt}", "blurry"}, {"grain", "film grain", "{prompt}, jpeg"}};
    const auto styled = latent::text::apply_styles("a cat", "ugly", styles, {"frame", "grain"});
    QCOMPARE(styled.prompt, std::string("photo of a cat, film grain"));
    QCOMPARE(styled.negative_prompt, std::string("ugly, blurry, jpeg"));
    const QString message =
        latent::test::error_message([&] { latent::text::apply_styles("a", "", styles, {"nope"}); });
    QVERIFY2(message.contains("'nope'") && message.contains("frame, grain"), qPrintable(message));
  }

  void refusesWhatIsNoStylesFile() {
    const QString message = latent::test::error_message([] { latent::text::parse_styles_csv("a,b\n1,2\n", "X"); });
    QVERIFY2(message.startsWith("X is not a styles file"), qPrintable(message));
  }

  // Saved through a temporary file: a save that fails part-way (here: files may not grow past
  // 64 bytes, as on a full disk, which holds for root too) leaves the old file whole.
  void savesAtomically() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("styles.csv").toStdString();
    QVERIFY(latent::text::read_styles_file(path).empty());  // none yet
    const Styles first = {{"one", "1", ""}};
    latent::text::write_styles_file(path, first);
    QVERIFY(latent::text::read_styles_file(path) == first);
    const Styles second = {{"two", std::string(1000, 'x'), ""}};
    QString message;
    {
      const latent::test::FileSizeLimit full(64);
      QVERIFY(full.ok());
      message = latent::test::error_message([&] { latent::text::write_styles_file(path, second); });
    }
    QVERIFY2(message.contains("styles.csv"), qPrintable(message));
    QVERIFY(latent::text::read_styles_file(path) == first);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"styles.csv"});
    latent::text::write_styles_file(path, second);
    QVERIFY(latent::text::read_styles_file(path) == second);
  }
};

QTEST_GUILESS_MAIN(TestPromptStyles)
#include "tst_prompt_styles.moc"
