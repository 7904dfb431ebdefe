#pragma once

// `latentstudio-cli serve`: the web UI's (AUTOMATIC1111) HTTP API over the server's one
// engine and queue (GenerationService). The HTTP side is cpp-httplib, chosen over Qt
// HttpServer 6.4 by measurement on loopback (see webui_server.cpp).

#include <memory>
#include <string>
#include <vector>

#include "core/api/load_options.h"
#include "core/api_server/webui_request.h"

namespace latent::server {

// A checkpoint clients may pick by title (/sdapi/v1/sd-models, options' sd_model_checkpoint).
struct ModelEntry {
  std::string title;  // the file name without extension, or the folder's name
  std::string path;
};

struct ServerSettings {
  std::string host = "127.0.0.1";
  int port = 7860;  // the web UI's; 0 picks a free one
  std::string credentials;  // "USER:PASS" for HTTP basic authentication; empty = none
  int queueLimit = 8;       // jobs waiting behind the running one; more answer 503
  api::LoadOptions model;   // the model at start
  std::vector<ModelEntry> models;  // every model offered, the start model first
  std::string loraDir;        // <lora:NAME:W> tags and /sdapi/v1/loras; empty = none
  std::string embeddingsDir;  // textual inversion; empty = none
  std::size_t maxBodyBytes = 48u << 20;  // larger bodies answer 413 before they are read
  int maxPictureSide = 4096;             // starting pictures and masks, pixels per side
  api_server::RequestLimits limits;
};

// True for 127.0.0.0/8, ::1 and "localhost": the addresses that need no credentials.
bool isLoopback(const std::string& host);

class WebuiServer {
 public:
  // Throws latent::Error for settings that are not safe (a non-loopback address without
  // credentials) or not usable.
  explicit WebuiServer(ServerSettings settings);
  ~WebuiServer();  // stop()
  WebuiServer(const WebuiServer&) = delete;
  WebuiServer& operator=(const WebuiServer&) = delete;

  // Loads the start model, so that a model that does not load stops the server before it
  // listens. Throws latent::Error saying why.
  void loadModel();
  // Binds the address; returns the port (the chosen one for port 0). Throws latent::Error.
  int bind();
  // Answers requests until stop(); returns false if listening failed.
  bool serve();
  // From any thread: cancels the running job, refuses the waiting ones (503), stops
  // listening and waits for the answers in flight. Nothing is written to disk by the
  // server, so nothing is left half-written.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace latent::server
