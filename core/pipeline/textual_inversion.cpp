// Reference: AUTOMATIC1111 stable-diffusion-webui modules/textual_inversion/textual_inversion.py
// (EmbeddingDatabase.create_embedding_from_data) and diffusers' load_textual_inversion.
#include "core/pipeline/textual_inversion.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <algorithm>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

const char* const kEmbeddingConvertHint =
    "Convert it to .safetensors first with a tool you trust, for example in Python: "
    "data = torch.load(<file>, weights_only=True); "
    "safetensors.torch.save_file({'emb_params': data['string_to_param']['*']}, "
    "'<name>.safetensors').";

constexpr int kMaxVectors = 75;  // one chunk

bool is_pickle_suffix(const QString& suffix) {
  const QString s = suffix.toLower();
  return s == "pt" || s == "bin" || s == "ckpt" || s == "pth";
}

std::string join_names(const io::SafetensorsFile& file) {
  std::string names;
  for (const auto& info : file.tensors()) {
    if (!names.empty()) names += ", ";
    names += info.name;
    if (names.size() > 200) return names + ", ...";
  }
  return names.empty() ? "no tensors" : names;
}

// The refusals between the families. The web UI skips such a file silently (its
// EmbeddingDatabase registers only embeddings of the loaded model's expected_shape); here a
// prompt that names one is refused, so that the name is never read as plain words unnoticed.
std::string sdxl_file_on_sd1(const std::string& path) {
  return "'" + path +
         "' is an SDXL embedding (clip_l and clip_g); it does not fit a Stable Diffusion 1.x "
         "model";
}

std::string sd1_file_on_sdxl(const std::string& path) {
  return "'" + path +
         "' is an embedding for Stable Diffusion 1.x or 2.x (one set of vectors); an SDXL "
         "model needs an SDXL embedding, with clip_l and clip_g vectors";
}

bool holds_sdxl_pair(const io::SafetensorsFile& file) {
  return file.contains("clip_l") && file.contains("clip_g");
}

// The tensor of a file with one set of vectors.
const io::TensorInfo& single_vectors_tensor(const io::SafetensorsFile& file) {
  const std::string& path = file.path();
  if (file.contains("emb_params")) return file.info("emb_params");
  if (holds_sdxl_pair(file)) throw Error(sdxl_file_on_sd1(path));
  std::vector<const io::TensorInfo*> terms;
  for (const auto& info : file.tensors())
    if (info.name.rfind("string_to_param.", 0) == 0) terms.push_back(&info);
  if (terms.empty() && file.tensors().size() == 1) terms.push_back(&file.tensors().front());
  if (terms.size() == 1) return *terms.front();
  if (terms.size() > 1)
    throw Error("'" + path + "' holds " + std::to_string(terms.size()) +
                " embedding terms; only files with one term are supported");
  throw Error("'" + path +
              "' is not a textual-inversion embedding: expected a tensor named "
              "emb_params or string_to_param.*, or a single tensor, found " +
              join_names(file));
}

// The tensor that holds the vectors `part` asks for.
const io::TensorInfo& vectors_tensor(const io::SafetensorsFile& file, EmbeddingPart part) {
  if (part == EmbeddingPart::single) return single_vectors_tensor(file);
  if (holds_sdxl_pair(file)) return file.info(part == EmbeddingPart::clip_l ? "clip_l" : "clip_g");
  // A file that is no embedding at all says so before being called one of the other family.
  (void)single_vectors_tensor(file);
  throw Error(sd1_file_on_sdxl(file.path()));
}

// [width], [vectors, width] or [1, ..., 1, vectors, width] → (vectors, width).
std::pair<int64_t, int64_t> vectors_shape(const io::TensorInfo& info, const std::string& path) {
  const auto& shape = info.shape;
  std::string dims;
  for (const int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  const auto bad = [&]() {
    return Error("'" + path + "': the tensor " + info.name + " has shape [" + dims +
                 "]; an embedding needs [vectors, width]");
  };
  if (shape.empty()) throw bad();
  for (std::size_t i = 0; i + 2 < shape.size(); ++i)
    if (shape[i] != 1) throw bad();
  const int64_t width = shape.back();
  const int64_t vectors = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  if (width < 1 || vectors < 1) throw bad();
  if (vectors > kMaxVectors)
    throw Error("'" + path + "' has " + std::to_string(vectors) + " vectors; at most " +
                std::to_string(kMaxVectors) + " fit in a prompt chunk");
  return {vectors, width};
}

// The vectors and widths of an SDXL pair; both sets must take the same tokens, as each
// encoder puts its own set in the same slots of the prompt.
struct PairShape {
  int64_t vectors = 0;
  int64_t width_l = 0;
  int64_t width_g = 0;
};

PairShape pair_shape(const io::SafetensorsFile& file) {
  const auto [vectors_l, width_l] = vectors_shape(file.info("clip_l"), file.path());
  const auto [vectors_g, width_g] = vectors_shape(file.info("clip_g"), file.path());
  if (vectors_l != vectors_g)
    throw Error("'" + file.path() + "' holds " + std::to_string(vectors_l) +
                " clip_l vectors but " + std::to_string(vectors_g) +
                " clip_g vectors; an SDXL embedding needs as many of each");
  return {vectors_l, width_l, width_g};
}

void refuse_if_pickle(const std::string& path) {
  if (io::is_pickle_file(path)) throw Error(io::pickle_refusal(path, kEmbeddingConvertHint));
}

// How the chunker sees `file` in a prompt for the encoder that reads `part` with vectors
// `width` wide (0 = any): its name's tokens, and why it cannot be used there, if it cannot.
text::EmbeddingToken token_of(const EmbeddingFile& file, const text::ClipTokenizer& tokenizer,
                              EmbeddingPart part, int64_t width) {
  text::EmbeddingToken token;
  token.name = file.name;
  token.ids = tokenizer.encode(file.name);
  token.vectors = std::max(file.vectors, 1);
  token.error = file.error;
  if (!token.error.empty()) return token;
  if (part == EmbeddingPart::single && file.is_sdxl()) {
    token.error = sdxl_file_on_sd1(file.path);
  } else if (part != EmbeddingPart::single && !file.is_sdxl()) {
    token.error = sd1_file_on_sdxl(file.path);
  } else if (part == EmbeddingPart::single) {
    if (width > 0 && file.width != width)
      token.error = "the embedding '" + file.path + "' has vectors of size " +
                    std::to_string(file.width) + ", but this model's text encoder uses " +
                    std::to_string(width) + " (it was made for another model family)";
  } else {
    const char* key = part == EmbeddingPart::clip_l ? "clip_l" : "clip_g";
    const int64_t file_width = part == EmbeddingPart::clip_l ? file.width : file.width_g;
    if (width > 0 && file_width != width)
      token.error = "the embedding '" + file.path + "' has " + key + " vectors of size " +
                    std::to_string(file_width) + ", but the text encoder that reads " + key +
                    " uses " + std::to_string(width) + " (it was made for another model)";
  }
  return token;
}

}  // namespace

torch::Tensor read_embedding_file(const std::string& path, EmbeddingPart part) {
  if (!QFileInfo(QString::fromStdString(path)).isFile())
    throw Error("the embedding file '" + path + "' does not exist");
  refuse_if_pickle(path);
  const io::SafetensorsFile file(path);
  const auto& info = vectors_tensor(file, part);
  if (part != EmbeddingPart::single) (void)pair_shape(file);
  const auto [vectors, width] = vectors_shape(info, path);
  const auto tensor = file.tensor(info.name);
  if (!torch::isFloatingType(tensor.scalar_type()))
    throw Error("'" + path + "': the tensor " + info.name + " does not hold floating-point values");
  const auto out = tensor.reshape({vectors, width}).to(torch::kFloat32).clone();  // [n, D]
  if (!torch::isfinite(out).all().item<bool>())
    throw Error("'" + path + "': the embedding holds NaN or infinite values");
  return out;
}

EmbeddingLibrary EmbeddingLibrary::from_folder(const std::string& dir) {
  EmbeddingLibrary library;
  if (dir.empty()) return library;
  const QString qdir = QString::fromStdString(dir);
  if (!QFileInfo(qdir).isDir()) throw Error("the embeddings folder '" + dir + "' does not exist");
  QStringList paths;
  QDirIterator it(qdir, QDir::Files | QDir::Readable, QDirIterator::Subdirectories);
  while (it.hasNext()) {
    const QString path = it.next();
    const QString suffix = QFileInfo(path).suffix();
    if (suffix.compare("safetensors", Qt::CaseInsensitive) == 0 || is_pickle_suffix(suffix))
      paths.push_back(path);
  }
  paths.sort();
  for (const QString& path : paths) library.add_file(path.toStdString());
  return library;
}

void EmbeddingLibrary::add_file(const std::string& path) {
  EmbeddingFile file;
  file.path = path;
  file.name = QFileInfo(QString::fromStdString(path)).completeBaseName().toStdString();
  if (file.name.empty() || by_name_.count(file.name)) return;
  try {
    refuse_if_pickle(path);
    const io::SafetensorsFile st(path);
    if (holds_sdxl_pair(st)) {
      const auto shape = pair_shape(st);
      file.vectors = static_cast<int>(shape.vectors);
      file.width = shape.width_l;
      file.width_g = shape.width_g;
    } else {
      const auto [vectors, width] = vectors_shape(single_vectors_tensor(st), path);
      file.vectors = static_cast<int>(vectors);
      file.width = width;
    }
  } catch (const Error& error) {
    file.error = error.what();
    file.vectors = 0;
  }
  by_name_[file.name] = files_.size();
  files_.push_back(std::move(file));
}

std::vector<text::EmbeddingToken> EmbeddingLibrary::tokens(const text::ClipTokenizer& tokenizer,
                                                           EmbeddingPart part,
                                                           int64_t width) const {
  std::vector<text::EmbeddingToken> out;
  out.reserve(files_.size());
  for (const auto& file : files_) out.push_back(token_of(file, tokenizer, part, width));
  return out;
}

std::vector<text::EmbeddingToken> EmbeddingLibrary::tokens(const text::ClipTokenizer& tokenizer,
                                                           int64_t width) const {
  std::vector<text::EmbeddingToken> out;
  out.reserve(files_.size());
  for (const auto& file : files_) {
    const auto part = file.is_sdxl() ? EmbeddingPart::clip_l : EmbeddingPart::single;
    out.push_back(token_of(file, tokenizer, part, width));
  }
  return out;
}

torch::Tensor EmbeddingLibrary::vectors(std::size_t index, EmbeddingPart part) const {
  if (index >= files_.size()) throw Error("no embedding number " + std::to_string(index));
  const auto& file = files_[index];
  if (!file.error.empty()) throw Error(file.error);
  auto& cached = cache_[{index, part}];
  if (!cached.defined()) cached = read_embedding_file(file.path, part);
  return cached;
}

}  // namespace latent::pipeline
