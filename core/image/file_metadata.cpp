#include "core/image/file_metadata.h"

#include <QFile>
#include <QJsonDocument>
#include <QString>

#include "core/image/foreign_metadata/comfyui_prompt.h"
#include "core/image/foreign_metadata/comfyui_workflow.h"
#include "core/image/foreign_metadata/fooocus_metadata.h"
#include "core/image/foreign_metadata/invokeai_metadata.h"
#include "core/image/foreign_metadata/novelai_metadata.h"
#include "core/image/foreign_metadata/webui_parameters.h"
#include "core/image/settings_json.h"
#include "core/util/error.h"

namespace latent::image {
namespace {

// Files past this are not images people generate; the metadata is near the start anyway.
constexpr qint64 kMaxFileBytes = 256ll * 1024 * 1024;

bool is_json_object(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{';
}

// Latent Studio's own files: the web UI's text for people and other programs, our JSON for
// every setting (restored from it where it is read, as ui/image_metadata does).
ImageMetadata read_ours(const EmbeddedTexts& texts, const EmbeddedText& json) {
  const EmbeddedText* parameters = texts.find(kParametersChunk);
  ImageMetadata meta = parameters ? read_webui_parameters(parameters->text, parameters->location) : ImageMetadata();
  meta.source = "Latent Studio";
  meta.location = json.location;
  meta.settings_json = json.text;
  meta.unmapped.clear();  // the JSON holds what the text cannot say
  return meta;
}

ImageMetadata read_parameters(const EmbeddedTexts& texts, const EmbeddedText& parameters) {
  const EmbeddedText* scheme = texts.find("fooocus_scheme");
  if (is_json_object(parameters.text)) return read_fooocus_json(parameters.text, parameters.location);
  ImageMetadata meta = read_webui_parameters(parameters.text, parameters.location);
  if (scheme != nullptr && scheme->text == "a1111") meta.source = "Fooocus";
  return meta;
}

ImageMetadata read_comfyui(const EmbeddedTexts& texts) {
  if (const EmbeddedText* prompt = texts.find("prompt")) {
    ImageMetadata meta = read_comfyui_prompt(prompt->text, prompt->location);
    if (meta.found()) return meta;
  }
  if (const EmbeddedText* workflow = texts.find("workflow")) {
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(workflow->text));
    if (doc.isObject()) return read_comfyui_graph(comfyui_workflow_to_graph(doc.object()), workflow->location);
  }
  return {};
}

ImageMetadata read_json_texts(const EmbeddedTexts& texts);

ImageMetadata read_texts(const EmbeddedTexts& texts) {
  if (const EmbeddedText* ours = texts.find(kSettingsChunk)) return read_ours(texts, *ours);
  if (const EmbeddedText* parameters = texts.find(kParametersChunk);
      parameters != nullptr && !QString::fromStdString(parameters->text).trimmed().isEmpty()) {
    ImageMetadata meta = read_parameters(texts, *parameters);
    if (meta.found()) return meta;
  }
  if (ImageMetadata meta = read_json_texts(texts); meta.found()) return meta;
  // A JPEG comment holding the web UI's text (some savers put it there): only when it has
  // the parameter line, as a comment can say anything.
  if (const EmbeddedText* comment = texts.find("comment"); comment != nullptr && parse_parameters(comment->text).fields.size() >= 3)
    return read_webui_parameters(comment->text, comment->location);
  return {};
}

// ComfyUI's, InvokeAI's and NovelAI's JSON.
ImageMetadata read_json_texts(const EmbeddedTexts& texts) {
  if (ImageMetadata meta = read_comfyui(texts); meta.found()) return meta;
  if (const EmbeddedText* invokeai = texts.find("invokeai_metadata")) {
    ImageMetadata meta = read_invokeai_metadata(invokeai->text, invokeai->location);
    if (meta.found()) return meta;
  }
  if (const EmbeddedText* invokeai = texts.find("sd-metadata")) {
    ImageMetadata meta = read_invokeai_sd_metadata(invokeai->text, invokeai->location);
    if (meta.found()) return meta;
  }
  if (const EmbeddedText* comment = texts.find("Comment"); comment != nullptr && is_json_object(comment->text)) {
    const EmbeddedText* description = texts.find("Description");
    const EmbeddedText* model = texts.find("Source");
    ImageMetadata meta = read_novelai_comment(comment->text, description ? description->text : "",
                                              model ? model->text : "", comment->location);
    if (meta.found()) return meta;
  }
  return {};
}

}  // namespace

api::GenerationResult ImageMetadata::to_result(const api::GenerationRequest& base) const {
  api::GenerationResult result = parameters.to_result(base);
  result.request.prompt_2 = prompt_2;
  result.request.negative_prompt_2 = negative_prompt_2;
  result.request.loras.adapters = loras;
  return result;
}

std::string ImageMetadata::parameters_text() const { return webui_text.empty() ? parameters.to_text() : webui_text; }

std::string ImageMetadata::source_title() const { return version.empty() ? source : source + " " + version; }

ImageMetadata read_image_metadata(const std::vector<unsigned char>& bytes) {
  const EmbeddedTexts texts = read_embedded_texts(bytes);
  ImageMetadata meta = read_texts(texts);
  meta.format = texts.format;
  return meta;
}

ImageMetadata read_image_metadata_file(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly))
    throw Error("cannot read '" + path + "': " + file.errorString().toStdString());
  const QByteArray data = file.read(kMaxFileBytes);
  if (file.error() != QFileDevice::NoError)
    throw Error("cannot read '" + path + "': " + file.errorString().toStdString());
  const std::vector<unsigned char> bytes(data.begin(), data.end());
  ImageMetadata meta = read_image_metadata(bytes);
  if (meta.format == ImageFormat::unknown)
    throw Error("'" + path + "' is not a PNG, JPEG or WebP image" + (bytes.empty() ? " (the file is empty)" : ""));
  return meta;
}

std::pair<std::string, std::string> unmapped_item(const std::string& name, std::string value, std::size_t max_chars) {
  const QString text = QString::fromStdString(value);
  if (static_cast<std::size_t>(text.size()) > max_chars)
    value = text.left(static_cast<qsizetype>(max_chars)).toStdString() + "…";
  return {name, value};
}

}  // namespace latent::image
