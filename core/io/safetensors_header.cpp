#include "core/io/safetensors_header.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/util/error.h"

namespace latent::io {
namespace {

struct DTypeEntry {
  const char* name;
  DType dtype;
  std::size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::F64, 8},  {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2},  {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
    {"BOOL", DType::Bool, 1},
};

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw Error("safetensors file '" + file + "': " + what);
}

[[noreturn]] void fail_tensor(const std::string& file, const std::string& tensor,
                              const std::string& what) {
  fail(file, "tensor '" + tensor + "': " + what);
}

// A JSON value as it would appear in the header, for messages.
std::string json_text(const QJsonValue& value) {
  if (value.isDouble()) return QString::number(value.toDouble(), 'g', 17).toStdString();
  if (value.isString()) return "\"" + value.toString().toStdString() + "\"";
  if (value.isBool()) return value.toBool() ? "true" : "false";
  if (value.isNull()) return "null";
  return value.isArray() ? "a list" : "an object";
}

// JSON numbers arrive as doubles; accept only exact non-negative integers.
bool to_uint(const QJsonValue& value, uint64_t& out) {
  if (!value.isDouble()) return false;
  const double d = value.toDouble();
  if (!(d >= 0) || d > 9007199254740992.0 || std::floor(d) != d) return false;
  out = static_cast<uint64_t>(d);
  return true;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const QJsonValue& value) {
  if (!value.isObject()) fail_tensor(file, name, "entry is not a JSON object");
  const QJsonObject entry = value.toObject();
  TensorInfo info;
  info.name = name;

  const QString dtype = entry.value("dtype").toString();
  const auto* found = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                   [&](const DTypeEntry& e) { return dtype == e.name; });
  if (found == std::end(kDTypes))
    fail_tensor(file, name, "unknown dtype '" + dtype.toStdString() + "'");
  info.dtype = found->dtype;

  const QJsonValue shape = entry.value("shape");
  if (!shape.isArray()) fail_tensor(file, name, "missing or malformed 'shape'");
  uint64_t elements = 1;
  uint64_t nonzero_elements = 1;  // bounded too, so that empty tensors stay allocatable
  for (const QJsonValue& dim : shape.toArray()) {
    uint64_t d = 0;
    if (!to_uint(dim, d))
      fail_tensor(file, name,
                  "shape holds " + json_text(dim) +
                      ", which is not a size (a non-negative integer)");
    if (d != 0 && elements > std::numeric_limits<uint64_t>::max() / d)
      fail_tensor(file, name, "shape is too large");
    constexpr auto kMaxElements = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (d != 0 && nonzero_elements > kMaxElements / d)
      fail_tensor(file, name, "shape is too large");
    elements *= d;
    if (d != 0) nonzero_elements *= d;
    info.shape.push_back(static_cast<int64_t>(d));
  }

  const QJsonArray offsets = entry.value("data_offsets").toArray();
  if (offsets.size() != 2 || !to_uint(offsets[0], info.data_begin) ||
      !to_uint(offsets[1], info.data_end) || info.data_end < info.data_begin)
    fail_tensor(file, name, "malformed 'data_offsets'");

  if (elements > std::numeric_limits<uint64_t>::max() / found->size)
    fail_tensor(file, name, "shape is too large");
  const uint64_t expected = elements * found->size;
  if (info.data_end - info.data_begin != expected)
    fail_tensor(file, name,
                "holds " + std::to_string(info.data_end - info.data_begin) +
                    " bytes but its shape and dtype need " + std::to_string(expected));
  return info;
}

}  // namespace

std::size_t dtype_size(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.size;
  return 0;
}

const char* dtype_name(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.name;
  return "?";
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, std::size_t file_size,
                                           const std::string& file) {
  if (file_size == 0) fail(file, "the file is empty (0 bytes)");
  if (file_size < 8) fail(file, "the file is too short to hold a header (" +
                                    std::to_string(file_size) + " bytes)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes)
    fail(file, "header length " + std::to_string(header_len) + " is beyond the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file?)");
  if (header_len > file_size - 8)
    fail(file, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes); the file is truncated or not safetensors");

  const QByteArray json = QByteArray::fromRawData(reinterpret_cast<const char*>(bytes + 8),
                                                  static_cast<qsizetype>(header_len));
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
  if (error.error != QJsonParseError::NoError)
    fail(file, "header is not valid JSON (" + error.errorString().toStdString() + " at byte " +
                   std::to_string(error.offset) + ")");
  if (!doc.isObject()) fail(file, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_start = 8 + header_len;
  const uint64_t data_size = file_size - header.data_start;
  const QJsonObject root = doc.object();
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string name = it.key().toStdString();
    if (name == "__metadata__") {
      if (!it.value().isObject()) fail(file, "'__metadata__' is not a JSON object");
      const QJsonObject meta = it.value().toObject();
      for (auto m = meta.begin(); m != meta.end(); ++m) {
        if (!m.value().isString())
          fail(file, "metadata entry '" + m.key().toStdString() + "' is not a string");
        header.metadata[m.key().toStdString()] = m.value().toString().toStdString();
      }
      continue;
    }
    header.tensors.push_back(parse_entry(file, name, it.value()));
  }

  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return a.data_begin != b.data_begin ? a.data_begin < b.data_begin
                                                  : a.data_end < b.data_end;
            });
  // Compare each tensor with the furthest-reaching one before it, so that an empty
  // tensor in between cannot hide an overlap. Empty tensors overlap nothing.
  const TensorInfo* furthest = nullptr;
  bool contiguous = true;  // laid end to end from offset 0, as writers do
  for (const TensorInfo& cur : header.tensors) {
    if (cur.data_end == cur.data_begin) continue;
    if (furthest && cur.data_begin < furthest->data_end)
      fail_tensor(file, cur.name, "its data overlaps tensor '" + furthest->name + "'");
    contiguous = contiguous && cur.data_begin == (furthest ? furthest->data_end : 0);
    furthest = &cur;
  }
  const uint64_t needed = furthest ? furthest->data_end : 0;
  const bool outside = std::any_of(header.tensors.begin(), header.tensors.end(),
                                   [&](const TensorInfo& t) { return t.data_end > data_size; });
  if (outside) {
    if (contiguous && needed > data_size)
      fail(file, "the file is truncated: its header describes " + std::to_string(needed) +
                     " bytes of tensor data but only " + std::to_string(data_size) +
                     " follow the header (an incomplete download or copy?)");
    for (const TensorInfo& info : header.tensors)
      if (info.data_end > data_size)
        fail_tensor(file, info.name,
                    "data offsets [" + std::to_string(info.data_begin) + ", " +
                        std::to_string(info.data_end) + ") lie outside the data area of " +
                        std::to_string(data_size) + " bytes");
  }
  return header;
}

}  // namespace latent::io
