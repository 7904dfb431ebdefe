// latentstudio-cli generate with --style/--styles-file and --wildcards on the starter model:
// the styled, expanded prompt is what the image's metadata records (with the template), the
// same seed draws the same wildcards, prompt editing and AND run, and bad values are refused
// before anything loads, naming what is wrong.
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "tests/support/test_files.h"
#include "tests/support/cli_process.h"

using latent::test::run_cli;

namespace {

void write(const QString& path, const QByteArray& text) { QVERIFY(latent::test::write_file(path, text)); }

}  // namespace

class TestCliPromptText : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  QString path(const QString& name) const { return m_dir.filePath(name); }

  // The image's `parameters` text, from png-info.
  QString parameters(const QString& image) {
    const auto run = run_cli({"png-info", image});
    return QJsonDocument::fromJson(run.out.toUtf8()).object().value("parameters").toString();
  }

  QString generate(const QStringList& extra, const QString& out) {
    const auto run = run_cli(QStringList{"generate", "--prompt", "a __shape__ on [grass:sand:0.5]", "--steps", "3",
                                         "--out", out, "--overwrite", "--styles-file", path("styles.csv"),
                                         "--wildcards", path("wildcards")} +
                             extra);
    if (run.exit_code != 0) return "failed: " + run.err;
    return parameters(out);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    write(path("styles.csv"), "name,prompt,negative_prompt\nphoto,\"photo of {prompt}\",blurry\ngrain,film grain,\n");
    write(path("wildcards/shape.txt"), "circle\nsquare\ntriangle\n__more/round__\n");
    write(path("wildcards/more/round.txt"), "disc\nring\n");
  }

  void stylesAndWildcardsGoIntoTheMetadata() {
    const QString text = generate({"--style", "photo", "--style", "grain", "--seed", "11"}, path("a.png"));
    QVERIFY2(text.startsWith("photo of a "), qPrintable(text));
    QVERIFY2(text.contains(" on [grass:sand:0.5], film grain\nNegative prompt: blurry\n"), qPrintable(text));
    QVERIFY2(!text.section('\n', 0, 0).contains("__"), qPrintable(text));
    QVERIFY2(text.contains("Template: \"photo of a __shape__ on [grass:sand:0.5], film grain\""), qPrintable(text));
    // The same seed draws the same shape; over several seeds more than one comes up.
    QCOMPARE(generate({"--style", "photo", "--style", "grain", "--seed", "11"}, path("b.png")), text);
    QSet<QString> prompts;
    for (const QString seed : {"1", "2", "3", "4", "5", "6"})
      prompts.insert(generate({"--seed", seed}, path("c.png")).section('\n', 0, 0));
    QVERIFY2(prompts.size() > 1, qPrintable(QStringList(prompts.values()).join(" | ")));
  }

  void andRuns() {
    const QString text = generate({"--seed", "3", "--prompt", "a circle AND a square :0.6"}, path("d.png"));
    QVERIFY2(text.startsWith("a circle AND a square :0.6\n"), qPrintable(text));
  }

  void refusals_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("style without file") << QStringList{"--style", "x"} << "--style needs --styles-file";
    QTest::newRow("unknown style") << QStringList{"--style", "nope", "--styles-file", "STYLES"}
                                   << "no style named 'nope' (the styles are: photo, grain)";
    QTest::newRow("missing styles file") << QStringList{"--style", "photo", "--styles-file", "/no/styles.csv"}
                                         << "'/no/styles.csv' does not exist";
    QTest::newRow("missing folder") << QStringList{"--wildcards", "/no/wildcards"}
                                    << "the wildcards folder '/no/wildcards' does not exist";
    QTest::newRow("missing wildcard") << QStringList{"--wildcards", "WILDCARDS", "--prompt", "a __colour__ cat"}
                                      << "the wildcard __colour__ has no file 'colour.txt'";
  }

  void refusals() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    arguments.replaceInStrings("STYLES", path("styles.csv"));
    arguments.replaceInStrings("WILDCARDS", path("wildcards"));
    const auto run = run_cli(QStringList{"generate", "--prompt", "a cat", "--steps", "2", "--out", path("e.png"),
                                         "--overwrite"} +
                             arguments);
    QVERIFY(run.exit_code != 0);
    QVERIFY2(run.err.contains(message), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCliPromptText)
#include "tst_cli_prompt_text.moc"
