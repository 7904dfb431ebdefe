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

std::vector<std::string> commaList(const QCommandLineParser& parser, const QString& name) {
  std::vector<std::string> items;
  for (const QString& item : parser.value(name).split(','))
    if (!item.trimmed().isEmpty()) items.push_back(item.trimmed().toStdString());
  return items;
}
