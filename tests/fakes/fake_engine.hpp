#pragma once
// A jobs::Engine that answers what a test sets and keeps the typed requests it was given:
// the double behind the protocol codec's tests, which check the JSON ↔ typed translation
// without a store, a job or a webhook. Every operation not set answers a 500 refusal.
// Event loop only, like the engine it stands for.

#include <optional>
#include <string>
#include <vector>

#include "jobs/engine.hpp"

namespace audit::fakes {

class FakeEngine final : public jobs::Engine {
 public:
  // What the next calls answer.
  bool is_stopping = false;
  jobs::Outcome<jobs::JobRecord> put_job_answer = unset();
  jobs::Outcome<jobs::JobSnapshot> get_job_answer = unset();
  jobs::Outcome<jobs::JobRecord> cancel_job_answer = unset();
  jobs::Outcome<source::IngestReport> ingest_answer = unset();
  jobs::Outcome<jobs::ForwardStatus> forward_answer = unset();
  jobs::Stats stats_answer;

  // What the engine was asked, in order of arrival.
  std::vector<jobs::ReplayRequest> put_jobs;
  mutable std::vector<jobs::RegionName> get_jobs;  // getJob is const, as the engine's
  std::vector<jobs::RegionName> cancel_jobs;
  std::vector<std::vector<std::string>> ingested;  // each call's events, copied
  std::vector<std::pair<std::string, jobs::RegionName>> forward_calls;  // "status", "pause", …
  mutable int calls = 0;

  bool stopping() const override { return is_stopping; }

  boost::asio::awaitable<jobs::Outcome<jobs::JobRecord>> putJob(
      jobs::ReplayRequest request) override {
    ++calls;
    put_jobs.push_back(std::move(request));
    co_return put_job_answer;
  }
  jobs::Outcome<jobs::JobSnapshot> getJob(const jobs::RegionName& region) const override {
    ++calls;
    get_jobs.push_back(region);
    return get_job_answer;
  }
  boost::asio::awaitable<jobs::Outcome<jobs::JobRecord>> cancelJob(
      jobs::RegionName region) override {
    ++calls;
    cancel_jobs.push_back(std::move(region));
    co_return cancel_job_answer;
  }
  std::vector<jobs::JobRecord> listJobs() const override { return {}; }

  jobs::Outcome<std::vector<jobs::WebhookStatus>> webhookStatus(
      const jobs::RegionName&) const override {
    return unset();
  }
  jobs::Outcome<jobs::WebhookSettingsView> getWebhook(const jobs::RegionName&) const override {
    return unset();
  }
  boost::asio::awaitable<jobs::Outcome<jobs::WebhookSettingsView>> patchWebhook(
      jobs::RegionName, jobs::WebhookOverride) override {
    co_return unset();
  }
  boost::asio::awaitable<jobs::Outcome<jobs::WebhookSettingsView>> resetWebhook(
      jobs::RegionName) override {
    co_return unset();
  }

  boost::asio::awaitable<jobs::Outcome<source::IngestReport>> ingest(
      jobs::IngestRequest request) override {
    ++calls;
    ingested.emplace_back(request.events.begin(), request.events.end());
    co_return ingest_answer;
  }
  boost::asio::awaitable<jobs::Outcome<jobs::BodyIngestReport>> ingestBody(
      jobs::RegionName, std::string_view, jobs::BodyIngestOptions) override {
    co_return unset();
  }

  jobs::Outcome<jobs::ExportPlan> planExport(const jobs::ExportRequest&) const override {
    return unset();
  }
  boost::asio::awaitable<jobs::Outcome<jobs::OpenedExport>> openExport(jobs::ExportPlan) override {
    co_return unset();
  }

  boost::asio::awaitable<jobs::Outcome<jobs::ForwardStatus>> forwardStatus(
      jobs::RegionName region) override {
    ++calls;
    forward_calls.emplace_back("status", std::move(region));
    co_return forward_answer;
  }
  boost::asio::awaitable<jobs::Outcome<jobs::ForwardStatus>> pauseForward(
      jobs::RegionName region) override {
    ++calls;
    forward_calls.emplace_back("pause", std::move(region));
    co_return forward_answer;
  }
  boost::asio::awaitable<jobs::Outcome<jobs::ForwardStatus>> resumeForward(
      jobs::RegionName region) override {
    ++calls;
    forward_calls.emplace_back("resume", std::move(region));
    co_return forward_answer;
  }

  boost::asio::awaitable<jobs::Stats> stats() override { co_return stats_answer; }
  boost::asio::awaitable<bool> storeWritable() override { co_return true; }
  std::string jwks() const override { return R"({"keys":[]})"; }

 private:
  static jobs::Refusal unset() { return jobs::Refusal{500, "not set by the test", {}}; }
};

}  // namespace audit::fakes
