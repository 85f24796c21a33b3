#pragma once
// An api::ControlApi that answers from canned answers per op and records every request: the
// double behind the HTTP API's tests, which check routes, status codes and shapes without the
// engine. Requests arrive on the HTTP API's thread and are read from the test's: locked.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "api/control_api.hpp"

namespace audit::fakes {

/** Records every request; answers per op from canned answers (default: 500). */
class FakeControlApi final : public api::ControlApi {
 public:
  void answer(const std::string& op, boost::json::object answer) {
    std::lock_guard lock(mutex_);
    answers_[op] = std::move(answer);
  }
  void throwOn(const std::string& op) {
    std::lock_guard lock(mutex_);
    throw_on_ = op;
  }
  std::vector<boost::json::object> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  boost::asio::awaitable<boost::json::object> execute(boost::json::object request) override {
    boost::json::object reply{{"ok", false}, {"code", 500}, {"error", "no canned answer"}};
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      const std::string op(request["op"].as_string());
      if (op == throw_on_) throw std::runtime_error("broken contract");
      if (const auto it = answers_.find(op); it != answers_.end()) reply = it->second;
    }
    co_return reply;
  }

  /** What ingestBody was given, as {"request", "body", "gzip", "skip_invalid"}. */
  std::vector<boost::json::object> ingests() const {
    std::lock_guard lock(mutex_);
    return ingests_;
  }

  boost::asio::awaitable<boost::json::object> ingestBody(boost::json::object request,
                                                         std::string_view body,
                                                         jobs::BodyIngestOptions options) override {
    boost::json::object reply{{"ok", false}, {"code", 500}, {"error", "no canned answer"}};
    {
      std::lock_guard lock(mutex_);
      boost::json::object seen;
      seen["request"] = request;
      seen["body"] = body;
      seen["gzip"] = options.gzip;
      seen["skip_invalid"] = options.skip_invalid;
      ingests_.push_back(std::move(seen));
      if (const auto it = answers_.find("ingest_body"); it != answers_.end()) reply = it->second;
    }
    co_return reply;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<boost::json::object> ingests_;
  std::map<std::string, boost::json::object> answers_;
  std::vector<boost::json::object> requests_;
  std::string throw_on_;
};

}  // namespace audit::fakes
