#include "generation_service.h"

#include <QDateTime>

#include "core/pipeline/engine.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"
#include "core/util/memory_usage.h"

namespace latent::server {

GenerationService::GenerationService(int queueLimit) : m_queueLimit(queueLimit) {
  m_worker = std::thread([this] { workerLoop(); });
}

GenerationService::~GenerationService() { shutDown(); }

std::optional<JobOutcome> GenerationService::run(ServerJob job) {
  auto pending = std::make_unique<Pending>();
  pending->job = std::move(job);
  std::future<JobOutcome> outcome = pending->promise.get_future();
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      JobOutcome closed;
      closed.status = JobOutcome::Status::shutDown;
      closed.message = "the server is shutting down";
      return closed;
    }
    if (static_cast<int>(m_pending.size()) >= m_queueLimit) return std::nullopt;
    m_pending.push_back(std::move(pending));
    m_progress.waiting = static_cast<int>(m_pending.size());
  }
  m_wake.notify_one();
  return outcome.get();
}

void GenerationService::interrupt() {
  std::lock_guard lock(m_mutex);
  if (!m_progress.busy) return;  // nothing to stop; the next job must not start stopped
  m_progress.interrupted = true;
  m_interrupt = true;
  m_cancel = true;
}

void GenerationService::skip() {
  std::lock_guard lock(m_mutex);
  if (!m_progress.busy) return;
  m_progress.skipped = true;
  m_cancel = true;
}

ProgressSnapshot GenerationService::progress() const {
  std::lock_guard lock(m_mutex);
  return m_progress;
}

api::LoadOptions GenerationService::loadedModel() const {
  std::lock_guard lock(m_mutex);
  return m_loaded;
}

void GenerationService::shutDown() {
  std::deque<std::unique_ptr<Pending>> refused;
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_interrupt = true;
    m_cancel = true;
    refused.swap(m_pending);
    m_progress.waiting = 0;
  }
  m_wake.notify_all();
  for (auto& pending : refused) {
    JobOutcome closed;
    closed.status = JobOutcome::Status::shutDown;
    closed.message = "the server shut down before the job ran";
    pending->promise.set_value(std::move(closed));
  }
  if (m_worker.joinable() && m_worker.get_id() != std::this_thread::get_id()) m_worker.join();
}

void GenerationService::workerLoop() {
  // The engine is made, used and destroyed on this thread only.
  pipeline::Engine engine;
  for (;;) {
    std::unique_ptr<Pending> pending;
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_stopping || !m_pending.empty(); });
      if (m_stopping) return;
      pending = std::move(m_pending.front());
      m_pending.pop_front();
      m_progress = ProgressSnapshot{};
      m_progress.busy = true;
      m_progress.waiting = static_cast<int>(m_pending.size());
      m_progress.runs = static_cast<int>(pending->job.runs.size());
      m_progress.jobTimestamp = QDateTime::currentDateTime().toString("yyyyMMddhhmmss").toStdString();
      m_interrupt = false;
      m_cancel = false;
    }
    ServerJob& job = pending->job;
    JobOutcome outcome;
    try {
      try {
        engine.load(job.model);
      } catch (const std::exception& e) {
        outcome.status = JobOutcome::Status::failed;
        outcome.message = std::string("the model did not load: ") + e.what();
        throw;
      }
      {
        std::lock_guard lock(m_mutex);
        m_loaded = job.model;
      }
      for (std::size_t k = 0; k < job.runs.size(); ++k) {
        api::GenerationRequest& request = job.runs[k];
        // What the request left open is the model's, as `generate` decides it.
        const pipeline::ModelDefaults defaults = engine.model_defaults();
        if (request.size.width == 0) request.size.width = defaults.width;
        if (request.size.height == 0) request.size.height = defaults.height;
        if (request.sampling.sampler.empty())
          request.sampling.sampler = engine.own_sampler().empty() ? std::string("euler") : engine.own_sampler();
        pipeline::validate_request(request);
        {
          std::lock_guard lock(m_mutex);
          m_progress.run = static_cast<int>(k);
          m_progress.step = 0;
          m_progress.totalSteps = 0;
          m_progress.skipped = false;
          if (!m_interrupt) m_cancel = false;
        }
        const auto onStep = [this](const api::StepProgress& step) {
          std::lock_guard lock(m_mutex);
          m_progress.step = step.step;
          m_progress.totalSteps = step.total_steps;
          m_progress.secondsLeft = step.seconds_left;
          if (!step.previews.empty()) m_progress.preview = std::make_shared<const api::Image>(step.previews.front());
        };
        try {
          outcome.results.push_back(engine.generate(request, onStep, &m_cancel));
        } catch (const Cancelled&) {
          if (m_interrupt) break;  // interrupted or shutting down; a skip goes on
        }
      }
      if (m_interrupt) {
        std::lock_guard lock(m_mutex);
        outcome.status = m_stopping ? JobOutcome::Status::shutDown : JobOutcome::Status::interrupted;
        outcome.message = m_stopping ? "the server shut down during the job" : "interrupted";
      }
    } catch (const Error& e) {
      if (outcome.status == JobOutcome::Status::finished) outcome.status = JobOutcome::Status::refused;
      if (outcome.message.empty()) outcome.message = e.what();
    } catch (const std::exception& e) {
      if (outcome.status == JobOutcome::Status::finished) outcome.status = JobOutcome::Status::failed;
      if (outcome.message.empty()) outcome.message = e.what();
    }
    const std::string timestamp = progress().jobTimestamp;
    outcome.jobTimestamp = timestamp;
    {
      // Idle before the answer goes out: a client that has its answer never sees its job
      // still running in /progress.
      std::lock_guard lock(m_mutex);
      const int waiting = m_progress.waiting;
      m_progress = ProgressSnapshot{};  // no steps, no preview
      m_progress.waiting = waiting;
      m_progress.jobTimestamp = timestamp;
    }
    pending->promise.set_value(std::move(outcome));
    pending.reset();  // the pictures and temporary files of the job go now
    // glibc keeps freed pictures and activations otherwise: resident memory would only grow.
    util::release_free_memory();
  }
}

}  // namespace latent::server
