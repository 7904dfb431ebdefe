#pragma once

// The server's one engine and its queue: a thread that owns the Engine and runs the jobs
// of every HTTP request in arrival order, so that a request gives the same pixels as
// `latentstudio-cli generate`. Handler threads block in run() until their job ends; a
// full queue is refused at once (HTTP 503) rather than waited on.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/api/load_options.h"

namespace latent::server {

// One request's work: the model, and the request once per run (n_iter runs). No runs:
// only load the model (a model switch through /sdapi/v1/options).
struct ServerJob {
  api::LoadOptions model;
  std::vector<api::GenerationRequest> runs;
  // Left to the model once it is loaded, as `generate` leaves them (see Engine::model_defaults
  // and own_sampler): the size when 0, the sampler when empty (its own, else Euler).
  std::shared_ptr<const void> keepAlive;  // what the runs read from (temporary picture files)
};

struct JobOutcome {
  enum class Status {
    finished,
    interrupted,  // /interrupt: the runs that finished before it are in results
    refused,      // the engine refused the request (a latent::Error): the client's doing
    failed,       // the model did not load, or something else went wrong on the server
    shutDown,     // the server closed before the job ran or while it ran
  };
  Status status = Status::finished;
  std::vector<api::GenerationResult> results;
  std::string message;       // why, unless finished
  std::string jobTimestamp;  // "YYYYMMDDhhmmss", when the job started
};

// What /sdapi/v1/progress reports.
struct ProgressSnapshot {
  bool busy = false;
  int waiting = 0;          // jobs queued behind the running one
  int run = 0, runs = 0;    // 0-based run of the job, and how many it has
  int step = 0, totalSteps = 0;
  double secondsLeft = 0;   // of the running run
  bool interrupted = false;
  bool skipped = false;
  std::string jobTimestamp;
  std::shared_ptr<const api::Image> preview;  // the latest preview of the running job
};

class GenerationService {
 public:
  // `queueLimit`: how many jobs may wait behind the running one.
  explicit GenerationService(int queueLimit);
  ~GenerationService();  // shutDown()
  GenerationService(const GenerationService&) = delete;
  GenerationService& operator=(const GenerationService&) = delete;

  // Queues the job and waits for its end; nullopt at once when the queue is full.
  std::optional<JobOutcome> run(ServerJob job);
  // Stops the running job before its next step (the web UI's interrupt) and
  // the running run of it only (skip: the job goes on with its next run).
  void interrupt();
  void skip();
  ProgressSnapshot progress() const;
  // The model the engine holds, or the empty options before the first load.
  api::LoadOptions loadedModel() const;
  // Cancels the running job and refuses the waiting ones (status shutDown), then joins the
  // engine thread. Safe to call more than once and from any thread.
  void shutDown();

 private:
  struct Pending {
    ServerJob job;
    std::promise<JobOutcome> promise;
  };
  void workerLoop();

  const int m_queueLimit;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::unique_ptr<Pending>> m_pending;
  bool m_stopping = false;
  ProgressSnapshot m_progress;  // under m_mutex
  api::LoadOptions m_loaded;    // under m_mutex
  std::atomic<bool> m_cancel{false};     // stops the running run
  std::atomic<bool> m_interrupt{false};  // and the job
  std::thread m_worker;
};

}  // namespace latent::server
