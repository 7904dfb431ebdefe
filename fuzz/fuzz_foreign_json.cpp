// Fuzzes the readers of other programs' JSON metadata with the same text: ComfyUI's prompt
// graph and workflow (graphs with links to follow: cycles, dangling and deep links), InvokeAI's
// invokeai_metadata and sd-metadata, NovelAI's Comment, Fooocus's parameters. Each result is
// restored into a request and printed as png-info's JSON. None of it may crash, throw or hang.
#include <QJsonDocument>

#include <cstdint>
#include <string>

#include "core/image/file_metadata.h"
#include "core/image/foreign_metadata/comfyui_prompt.h"
#include "core/image/foreign_metadata/comfyui_workflow.h"
#include "core/image/foreign_metadata/fooocus_metadata.h"
#include "core/image/foreign_metadata/invokeai_metadata.h"
#include "core/image/foreign_metadata/novelai_metadata.h"
#include "core/image/metadata_json.h"

namespace {

void use(const latent::image::ImageMetadata& meta) {
  const latent::api::GenerationRequest base;
  (void)meta.to_result(base);
  (void)latent::image::metadata_to_json(meta);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace image = latent::image;
  const std::string text(reinterpret_cast<const char*>(data), size);
  use(image::read_comfyui_prompt(text, "fuzz"));
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(text));
  if (doc.isObject()) use(image::read_comfyui_graph(image::comfyui_workflow_to_graph(doc.object()), "fuzz"));
  use(image::read_invokeai_metadata(text, "fuzz"));
  use(image::read_invokeai_sd_metadata(text, "fuzz"));
  use(image::read_novelai_comment(text, "description", "model", "fuzz"));
  use(image::read_fooocus_json(text, "fuzz"));
  return 0;
}
