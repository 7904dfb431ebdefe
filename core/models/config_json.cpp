#include "core/models/config_json.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <cmath>

#include "core/util/error.h"

namespace latent::models::config_json {
namespace {

[[noreturn]] void fail(const std::string& source, const char* key, const char* expected) {
  throw Error(source + ": \"" + key + "\" must be " + expected);
}

}  // namespace

QJsonObject read_file(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) throw Error(path + ": cannot open the model config file");
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
  if (error.error != QJsonParseError::NoError)
    throw Error(path + ": not valid JSON (" + error.errorString().toStdString() + " at offset " +
                std::to_string(error.offset) + ")");
  if (!doc.isObject()) throw Error(path + ": expected a JSON object at the top level");
  return doc.object();
}

int64_t get_int(const QJsonObject& json, const char* key, int64_t fallback,
                const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  const double d = value.toDouble(std::nan(""));
  if (!value.isDouble() || std::floor(d) != d) fail(source, key, "an integer");
  return static_cast<int64_t>(d);
}

double get_double(const QJsonObject& json, const char* key, double fallback,
                  const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isDouble()) fail(source, key, "a number");
  return value.toDouble();
}

bool get_bool(const QJsonObject& json, const char* key, bool fallback, const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isBool()) fail(source, key, "true or false");
  return value.toBool();
}

std::string get_string(const QJsonObject& json, const char* key, const std::string& fallback,
                       const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isString()) fail(source, key, "a string");
  return value.toString().toStdString();
}

std::vector<int64_t> get_int_list(const QJsonObject& json, const char* key,
                                  const std::vector<int64_t>& fallback, const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isArray()) fail(source, key, "a list of integers");
  std::vector<int64_t> out;
  for (const QJsonValue& item : value.toArray()) {
    const double d = item.toDouble(std::nan(""));
    if (!item.isDouble() || std::floor(d) != d) fail(source, key, "a list of integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::vector<std::string> get_string_list(const QJsonObject& json, const char* key,
                                         const std::vector<std::string>& fallback,
                                         const std::string& source) {
  const QJsonValue value = json.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isArray()) fail(source, key, "a list of strings");
  std::vector<std::string> out;
  for (const QJsonValue& item : value.toArray()) {
    if (!item.isString()) fail(source, key, "a list of strings");
    out.push_back(item.toString().toStdString());
  }
  return out;
}

}  // namespace latent::models::config_json
