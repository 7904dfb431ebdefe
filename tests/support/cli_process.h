#pragma once

// Runs the built latentstudio-cli as a user would, for the suites that test the program
// itself. LATENT_CLI_PATH is the binary's path, defined for those suites in tests/CMakeLists.txt.

#include <QProcess>
#include <QString>
#include <QStringList>

namespace latent::test {

struct CliRun {
  int exit_code = -1;
  QString out;  // stdout
  QString err;  // stderr
};

inline CliRun run_cli(const QStringList& arguments, int timeout_ms = 300000) {
  QProcess process;
  process.start(QStringLiteral(LATENT_CLI_PATH), arguments);
  CliRun run;
  if (!process.waitForFinished(timeout_ms)) {
    process.kill();
    process.waitForFinished();
    run.err = "latentstudio-cli did not finish: " + process.errorString();
    return run;
  }
  run.exit_code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
  run.out = QString::fromUtf8(process.readAllStandardOutput());
  run.err = QString::fromUtf8(process.readAllStandardError());
  return run;
}

}  // namespace latent::test
