#pragma once

// The subcommands of latentstudio-cli. Each takes the arguments after its name and
// returns the process exit status.

#include <QStringList>

int runGenerate(const QStringList& arguments);
int runInfo(const QStringList& arguments);
int runMakeRandomModel(const QStringList& arguments);
int runBench(const QStringList& arguments);
int runPrompt(const QStringList& arguments);
int runTrainStarter(const QStringList& arguments);
int runEvalShapes(const QStringList& arguments);
int runTrainLora(const QStringList& arguments);
int runMakeShapes(const QStringList& arguments);
int runUpscale(const QStringList& arguments);
int runServe(const QStringList& arguments);
int runPreprocess(const QStringList& arguments);
int runConvert(const QStringList& arguments);
int runPngInfo(const QStringList& arguments);
int runGrid(const QStringList& arguments);
