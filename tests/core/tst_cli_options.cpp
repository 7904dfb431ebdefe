// The options latentstudio-cli's commands share are declared once (app/cli/common_options.h):
// each reads the same in every command's --help, but for the default where commands differ,
// and is refused the same way when its value is wrong.
#include <QtTest/QtTest>

#include <map>

#include "tests/support/cli_process.h"

using latent::test::run_cli;

namespace {

// Option name ("--seed") → its help text, from a command's --help. An option's text
// starts on its name line after two or more spaces and continues on indented lines.
std::map<QString, QString> read_option_help(const QString& command) {
  const auto run = run_cli({command, "--help"});
  std::map<QString, QString> help;
  QStringList names;
  const QString options = run.out.section("Options:\n", 1);
  for (const QString& line : options.split('\n')) {
    if (line.trimmed().isEmpty() || !line.startsWith(' ')) {
      names.clear();
      continue;
    }
    if (line.startsWith("  -")) {
      const qsizetype gap = line.indexOf("  ", 2);
      names.clear();
      for (const QString& word : line.mid(2, gap - 2).split(' ', Qt::SkipEmptyParts))
        if (word.startsWith("--")) names << QString(word).remove(',');
      for (const QString& name : names) help[name] = line.mid(gap).trimmed();
    } else {
      for (const QString& name : names) help[name] += ' ' + line.trimmed();
    }
  }
  return help;
}

// read_option_help, once per command (each run starts the program, about half a second).
const std::map<QString, QString>& option_help(const QString& command) {
  static std::map<QString, std::map<QString, QString>> cache;
  const auto found = cache.find(command);
  if (found != cache.end()) return found->second;
  return cache[command] = read_option_help(command);
}

// The help without its closing "(default ...)." or "(required).": the part a command chooses.
QString without_default(const QString& text) {
  const qsizetype clause = text.lastIndexOf(" (");
  return clause < 0 || !text.endsWith(").") ? text : text.left(clause);
}

}  // namespace

class TestCliOptions : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void readsTheSameInEveryCommand_data() {
    QTest::addColumn<QString>("option");
    QTest::addColumn<QStringList>("commands");
    const QStringList runners{"bench", "generate", "eval-shapes", "info", "train-lora", "train-starter"};
    QTest::newRow("--model") << "--model"
                             << QStringList{"bench", "generate", "eval-shapes", "info", "prompt", "train-lora"};
    QTest::newRow("--config-dir") << "--config-dir"
                                  << QStringList{"bench", "generate", "eval-shapes", "info", "prompt"};
    QTest::newRow("--threads") << "--threads" << runners;
    QTest::newRow("--seed") << "--seed"
                            << QStringList{"generate", "eval-shapes", "make-random-model", "make-shapes",
                                           "train-lora", "train-starter"};
    QTest::newRow("--device") << "--device" << QStringList{"bench", "generate", "train-lora"};
    QTest::newRow("compute --dtype") << "--dtype" << QStringList{"bench", "generate"};
    QTest::newRow("storage --dtype") << "--dtype" << QStringList{"make-random-model", "train-starter"};
    QTest::newRow("--width") << "--width" << QStringList{"bench", "generate"};
    QTest::newRow("--height") << "--height" << QStringList{"bench", "generate"};
    QTest::newRow("--steps") << "--steps" << QStringList{"bench", "generate", "eval-shapes"};
    QTest::newRow("--sampler") << "--sampler" << QStringList{"bench", "generate", "eval-shapes"};
    QTest::newRow("--scheduler") << "--scheduler" << QStringList{"bench", "generate", "eval-shapes"};
    QTest::newRow("--guidance") << "--guidance" << QStringList{"generate", "eval-shapes"};
    QTest::newRow("--negative") << "--negative" << QStringList{"generate", "prompt"};
    QTest::newRow("--embeddings") << "--embeddings" << QStringList{"generate", "prompt"};
    QTest::newRow("--lora") << "--lora" << QStringList{"generate", "eval-shapes"};
    QTest::newRow("--shapes") << "--shapes" << QStringList{"eval-shapes", "make-shapes"};
  }

  void readsTheSameInEveryCommand() {
    QFETCH(QString, option);
    QFETCH(QStringList, commands);
    QString first;
    for (const QString& command : commands) {
      const auto& help = option_help(command);
      const auto found = help.find(option);
      QVERIFY2(found != help.end(), qPrintable(command + " has no " + option));
      const QString text = without_default(found->second);
      QVERIFY2(!text.isEmpty(), qPrintable(command + " " + option));
      if (first.isEmpty()) first = text;
      QVERIFY2(text == first, qPrintable(command + " " + option + ":\n  " + text + "\nelsewhere:\n  " + first));
    }
  }

  void refusesAWrongValueTheSameWayEverywhere_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const QString seed = "--seed needs a whole number from 0 to 18446744073709551615, not 'x'";
    QTest::newRow("generate --seed") << QStringList{"generate", "--prompt", "p", "--seed", "x"} << seed;
    QTest::newRow("train-starter --seed") << QStringList{"train-starter", "--out", "unused", "--seed", "x"} << seed;
    const QString threads = "--threads needs a whole number, not 'many'";
    QTest::newRow("generate --threads") << QStringList{"generate", "--prompt", "p", "--threads", "many"} << threads;
    const QString device = "unknown device 'tpu': use cpu or cuda";
    QTest::newRow("generate --device") << QStringList{"generate", "--prompt", "p", "--device", "tpu"} << device;
    QTest::newRow("bench --device") << QStringList{"bench", "--model", "m", "--device", "tpu"} << device;
    const QString sampler = "unknown sampler \"nope\"";
    QTest::newRow("generate --scheduler") << QStringList{"generate", "--prompt", "p", "--scheduler", "nope"}
                                          << sampler;
    QTest::newRow("eval-shapes --sampler") << QStringList{"eval-shapes", "--sampler", "nope"} << sampler;
  }

  void refusesAWrongValueTheSameWayEverywhere() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const auto run = run_cli(arguments);
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("error: " + message), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCliOptions)
#include "tst_cli_options.moc"
