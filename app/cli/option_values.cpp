#include "option_values.h"

#include "core/util/error.h"

int intValue(const QCommandLineParser& parser, const QString& name) {
  bool ok = false;
  const int value = parser.value(name).toInt(&ok);
  if (!ok)
    throw latent::Error("--" + name.toStdString() + " needs a whole number, not '" +
                        parser.value(name).toStdString() + "'");
  return value;
}

double doubleValue(const QCommandLineParser& parser, const QString& name) {
  bool ok = false;
  const double value = parser.value(name).toDouble(&ok);
  if (!ok)
    throw latent::Error("--" + name.toStdString() + " needs a number, not '" +
                        parser.value(name).toStdString() + "'");
  return value;
}

std::pair<int, int> intPairValue(const QCommandLineParser& parser, const QString& name, const QString& form) {
  const QStringList parts = parser.value(name).split(',');
  bool ok = parts.size() == 2;
  int values[2] = {0, 0};
  for (int k = 0; ok && k < 2; ++k) values[k] = parts[k].trimmed().toInt(&ok);
  if (!ok)
    throw latent::Error("--" + name.toStdString() + " needs two whole numbers " + form.toStdString() +
                        ", not '" + parser.value(name).toStdString() + "'");
  return {values[0], values[1]};
}

std::vector<std::string> commaList(const QCommandLineParser& parser, const QString& name) {
  std::vector<std::string> items;
  for (const QString& item : parser.value(name).split(','))
    if (!item.trimmed().isEmpty()) items.push_back(item.trimmed().toStdString());
  return items;
}
