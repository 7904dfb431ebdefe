// Fuzzes what the desktop reads from a Latent Studio server it runs its generations on: the
// txt2img / img2img answer (base64 pictures, the info JSON inside the JSON), the progress
// answer with its preview, error bodies and the model and LoRA lists. A server that answers
// garbage (or is not a Latent Studio server at all) may only cause latent::Error.
#include <cstdint>

#include "core/api_server/webui_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace server = latent::api_server;
  const QByteArray body(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
  try {
    (void)server::parse_generation_reply(body);
  } catch (const latent::Error&) {
  }
  try {
    (void)server::parse_progress_reply(body);
  } catch (const latent::Error&) {
  }
  try {
    (void)server::parse_lora_names(body);
  } catch (const latent::Error&) {
  }
  try {
    (void)server::parse_model_titles(body);
  } catch (const latent::Error&) {
  }
  (void)server::error_detail(body, 500);
  return 0;
}
