#pragma once

// Typed reads of model config.json values. Every bad value throws latent::Error
// naming the file and the key; a missing key keeps the caller's default.

#include <QJsonObject>
#include <string>
#include <vector>

namespace latent::models::config_json {

// Parses a JSON file whose top level is an object.
QJsonObject read_file(const std::string& path);

int64_t get_int(const QJsonObject& json, const char* key, int64_t fallback,
                const std::string& source);
double get_double(const QJsonObject& json, const char* key, double fallback,
                  const std::string& source);
bool get_bool(const QJsonObject& json, const char* key, bool fallback, const std::string& source);
std::string get_string(const QJsonObject& json, const char* key, const std::string& fallback,
                       const std::string& source);
std::vector<int64_t> get_int_list(const QJsonObject& json, const char* key,
                                  const std::vector<int64_t>& fallback, const std::string& source);
std::vector<std::string> get_string_list(const QJsonObject& json, const char* key,
                                         const std::vector<std::string>& fallback,
                                         const std::string& source);

}  // namespace latent::models::config_json
