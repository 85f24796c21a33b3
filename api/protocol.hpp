#pragma once
// The socket protocol of docs/cli.md between its JSON and the typed job engine: requests are
// decoded (every JSON type checked, each bad field named) into the engine's requests, and its
// results and refusals encoded into answers. The only place where a request's JSON meets the
// engine; the control socket, the spool directory and the HTTP API reach it through
// ControlApi, so they answer alike.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string_view>

#include "api/control_api.hpp"
#include "jobs/engine.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::api {

using protocol::Op;
using protocol::parseOp;
using protocol::toString;

/** {"ok":false,"code":C,"error":reason} plus, when fields are named, "invalid_parameters". */
boost::json::object refusalAnswer(const jobs::Refusal& refusal);

/** A region's forwarding as forward_status and the webhook status show it
 *  (docs/forwarding.md). */
boost::json::object encodeForward(const jobs::ForwardStatus& forward);

/** The stats object of the stats op (docs/cli.md). */
boost::json::object encodeStats(const jobs::Stats& stats);

class Protocol final : public ControlApi {
 public:
  explicit Protocol(jobs::Engine& engine) : engine_(engine) {}

  /** Any request, however odd its shape, gets an answer; none stops the daemon. */
  boost::asio::awaitable<boost::json::object> execute(boost::json::object request) override;
  boost::asio::awaitable<boost::json::object> ingestBody(boost::json::object request,
                                                         std::string_view body,
                                                         jobs::BodyIngestOptions options) override;

 private:
  using Object = boost::json::object;
  boost::asio::awaitable<Object> dispatch(Op op, const Object& request);
  boost::asio::awaitable<Object> putJob(const Object& request);
  Object getJob(const Object& request) const;
  boost::asio::awaitable<Object> cancelJob(const Object& request);
  Object listJobs() const;
  Object webhookStatus(const Object& request) const;
  Object getWebhook(const Object& request) const;
  boost::asio::awaitable<Object> patchWebhook(const Object& request);
  boost::asio::awaitable<Object> resetWebhook(const Object& request);
  boost::asio::awaitable<Object> forward(Op op, const Object& request);
  boost::asio::awaitable<Object> ingest(const Object& request);
  boost::asio::awaitable<Object> stats();
  boost::asio::awaitable<Object> health();
  Object jwks() const;

  jobs::Engine& engine_;
};

}  // namespace audit::api
