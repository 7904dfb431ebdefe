#pragma once

// Command-line option values, with an error that names the option and the text.

#include <QCommandLineParser>
#include <QString>

#include <string>
#include <utility>
#include <vector>

// The value of --name as a whole number; throws latent::Error otherwise.
int intValue(const QCommandLineParser& parser, const QString& name);
// The value of --name as a number; throws latent::Error otherwise.
double doubleValue(const QCommandLineParser& parser, const QString& name);
// The value of --name as two whole numbers "A,B" (`form` names them in the error,
// "W,H"); throws latent::Error otherwise.
std::pair<int, int> intPairValue(const QCommandLineParser& parser, const QString& name, const QString& form);
// The value of --name split at commas, each item trimmed, empty items dropped.
std::vector<std::string> commaList(const QCommandLineParser& parser, const QString& name);
