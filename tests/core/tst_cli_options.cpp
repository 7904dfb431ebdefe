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
    QTest::newRow("--weights") << "--weights" << QStringList{"bench", "generate", "eval-shapes", "serve", "convert"};
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
    const QString weights = "unknown weights 'int4': use auto, full or int8";
    QTest::newRow("generate --weights") << QStringList{"generate", "--prompt", "p", "--weights", "int4"} << weights;
    QTest::newRow("bench --weights") << QStringList{"bench", "--model", "m", "--weights", "int4"} << weights;
  }

  void refusesAWrongValueTheSameWayEverywhere() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const auto run = run_cli(arguments);
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("error: " + message), qPrintable(run.err));
  }

  // generate's SDXL and refiner options, with diffusers' defaults, under these names.
  void generateListsTheSdxlOptions() {
    const auto& help = option_help("generate");
    const std::map<QString, QString> defaults = {
        {"--prompt-2", "(default: the prompt)."},
        {"--negative-2", "(default: the negative prompt)."},
        {"--guidance-rescale", "default 0: off)."},
        {"--original-size", "(default: the picture's size)."},
        {"--target-size", "(default: the picture's size)."},
        {"--crop-top-left", "(default 0,0)."},
        {"--aesthetic-score", "(default 6)."},
        {"--negative-aesthetic-score", "(default 2.5)."},
        {"--refiner", "."},
        {"--refiner-switch", "(default 0.8)."},
        {"--width", "(default the model's: 512 for SD 1.5, 1024 for SDXL)."},
        {"--guidance", "(default the model's: 5 for SDXL, 7.5 for the others)."},
    };
    for (const auto& [option, ending] : defaults) {
      const auto found = help.find(option);
      QVERIFY2(found != help.end(), qPrintable("generate has no " + option));
      QVERIFY2(found->second.endsWith(ending), qPrintable(option + ": " + found->second));
    }
  }

  // Each refused before a model loads (but the last, which needs the model's family),
  // named as the option is.
  void generateRefusesBadSdxlValues_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("rescale") << QStringList{"--guidance-rescale", "1.5"}
                             << "guidance rescale 1.5 is out of range: use 0 (off) to 1";
    QTest::newRow("rescale text") << QStringList{"--guidance-rescale", "much"}
                                  << "--guidance-rescale needs a number, not 'much'";
    QTest::newRow("original size") << QStringList{"--original-size", "1024"}
                                   << "--original-size needs two whole numbers W,H, not '1024'";
    QTest::newRow("target size") << QStringList{"--target-size", "1024,-8"}
                                 << "target size 1024,-8 is out of range";
    QTest::newRow("crop") << QStringList{"--crop-top-left", "-1,0"} << "crop top left -1,0 is out of range";
    QTest::newRow("crop form") << QStringList{"--crop-top-left", "1;2"}
                               << "--crop-top-left needs two whole numbers X,Y, not '1;2'";
    QTest::newRow("aesthetic") << QStringList{"--aesthetic-score", "inf"} << "aesthetic score inf is not a finite number";
    QTest::newRow("negative aesthetic") << QStringList{"--negative-aesthetic-score", "nan"}
                                        << "negative aesthetic score nan is not a finite number";
    QTest::newRow("switch alone") << QStringList{"--refiner-switch", "0.5"} << "--refiner-switch needs --refiner";
    QTest::newRow("switch") << QStringList{"--refiner", ".", "--refiner-switch", "1"}
                            << "refiner switch 1 is out of range";
    QTest::newRow("refiner missing") << QStringList{"--refiner", "no-such-refiner"}
                                     << "--refiner: the refiner model 'no-such-refiner' does not exist";
    QTest::newRow("sd 1.x") << QStringList{"--prompt-2", "x"}
                            << "--prompt-2 is for SDXL models; 'starter' is Stable Diffusion 1.x";
  }

  void generateRefusesBadSdxlValues() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const auto run = run_cli(QStringList{"generate", "--prompt", "p", "--out", "never-written.png"} + arguments);
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("error: " + message), qPrintable(run.err));
  }

  void makeRandomModelNamesItsConfigs() {
    const auto run = run_cli({"make-random-model", "--config", "sd3", "--out", "never-written"});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("error: unknown model config 'sd3': use sd15, sd21-768, sdxl, sdxl-refiner"), qPrintable(run.err));
    QVERIFY(!QFileInfo::exists("never-written"));
  }
};

QTEST_GUILESS_MAIN(TestCliOptions)
#include "tst_cli_options.moc"
