// Fuzzes what `latentstudio-cli serve` does with a request body before anything runs: the
// web UI's txt2img and img2img JSON read into a request (fields, ranges, sampler names,
// base64 pictures), and a png-info body's picture read for its text chunks. None of it may
// crash; a bad body may only throw FieldError, which the server answers with a 4xx.
#include <cstdint>

#include "core/api_server/webui_request.h"
#include "core/api_server/webui_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace server = latent::api_server;
  const QByteArray body(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
  for (const auto endpoint : {server::Endpoint::txt2img, server::Endpoint::img2img}) {
    try {
      (void)server::parse_webui_request(body, endpoint);
    } catch (const server::FieldError&) {
    }
  }
  try {
    const QJsonObject object = server::parse_json_object(body);
    (void)server::png_info_response(server::decode_base64_field(object.value("image"), "image", 1 << 20));
  } catch (const server::FieldError&) {
  }
  return 0;
}
