#include "core/io/safetensors.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace latent::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error("'" + path + "' is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (size_ > 0) {
      void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw Error("cannot map '" + path + "' into memory: " + std::strerror(err));
      }
      data_ = static_cast<const unsigned char*>(data);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  int64_t mtime_ns() const { return mtime_ns_; }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  int64_t mtime_ns_ = 0;
};

torch::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F64: return torch::kFloat64;
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::I64: return torch::kInt64;
    case DType::I32: return torch::kInt32;
    case DType::I16: return torch::kInt16;
    case DType::I8: return torch::kInt8;
    case DType::U8: return torch::kUInt8;
    case DType::Bool: return torch::kBool;
  }
  throw Error("unsupported dtype");
}

namespace {

DType to_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64: return DType::F64;
    case torch::kFloat32: return DType::F32;
    case torch::kFloat16: return DType::F16;
    case torch::kBFloat16: return DType::BF16;
    case torch::kInt64: return DType::I64;
    case torch::kInt32: return DType::I32;
    case torch::kInt16: return DType::I16;
    case torch::kInt8: return DType::I8;
    case torch::kUInt8: return DType::U8;
    case torch::kBool: return DType::Bool;
    default: throw Error(std::string("cannot store tensors of type ") + c10::toString(type));
  }
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path)
    : path_(path), mapping_(std::make_shared<MappedFile>(path)) {
  header_ = parse_safetensors_header(mapping_->data(), mapping_->size(), path);
  for (std::size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) throw Error("'" + path_ + "' holds no tensor named '" + name + "'");
  return header_.tensors[it->second];
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const auto type = to_scalar_type(ti.dtype);
  const auto options = torch::TensorOptions().dtype(type);
  if (ti.numel() == 0) return torch::empty(ti.shape, options);
  const unsigned char* data = mapping_->data() + header_.data_start + ti.data_begin;
  if (reinterpret_cast<std::uintptr_t>(data) % dtype_size(ti.dtype) != 0) {
    // Unaligned element data: copy the bytes into an aligned tensor instead of viewing.
    auto out = torch::empty(ti.shape, options);
    std::memcpy(out.data_ptr(), data, ti.data_end - ti.data_begin);
    return out;
  }
  auto keep_alive = mapping_;
  return torch::from_blob(const_cast<unsigned char*>(data), ti.shape,
                          [keep_alive](void*) mutable { keep_alive.reset(); }, options);
}

bool SafetensorsFile::unchanged_on_disk() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return false;
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return static_cast<std::size_t>(st.st_size) == mapping_->size() && mtime == mapping_->mtime_ns();
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  QJsonObject root;
  if (!metadata.empty()) {
    QJsonObject meta;
    for (const auto& [key, value] : metadata)
      meta.insert(QString::fromStdString(key), QString::fromStdString(value));
    root.insert("__metadata__", meta);
  }
  std::vector<torch::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("'__metadata__' is not a valid tensor name");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    QJsonArray shape;
    for (int64_t d : t.sizes()) shape.append(static_cast<double>(d));
    QJsonObject entry;
    entry.insert("dtype", dtype_name(to_dtype(t.scalar_type())));
    entry.insert("shape", shape);
    entry.insert("data_offsets",
                 QJsonArray{static_cast<double>(offset), static_cast<double>(offset + bytes)});
    const QString key = QString::fromStdString(name);
    if (root.contains(key)) throw Error("tensor name '" + name + "' is given twice");
    root.insert(key, entry);
    offset += bytes;
    contiguous.push_back(std::move(t));
  }
  QByteArray json = QJsonDocument(root).toJson(QJsonDocument::Compact);
  // Pad the header so the data area starts 8-byte aligned, as other writers do.
  while ((json.size() + 8) % 8 != 0) json.append(' ');

  QSaveFile out(QString::fromStdString(path));
  if (!out.open(QIODevice::WriteOnly))
    throw Error("cannot write '" + path + "': " + out.errorString().toStdString());
  unsigned char length[8];
  uint64_t n = static_cast<uint64_t>(json.size());
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  bool ok = out.write(reinterpret_cast<const char*>(length), 8) == 8 &&
            out.write(json) == json.size();
  for (const auto& t : contiguous) {
    const qint64 bytes = static_cast<qint64>(t.numel() * t.element_size());
    if (!ok) break;
    ok = out.write(static_cast<const char*>(t.data_ptr()), bytes) == bytes;
  }
  if (!ok || !out.commit())
    throw Error("cannot write '" + path + "': " + out.errorString().toStdString());
}

}  // namespace latent::io
