#pragma once
// Keeps connections that never showed a valid token from crowding out those that did.
//
// A connection is "unproven" until one of its requests passes the token check on a route
// that needs one. Unproven connections wait for their next request only
// `unproven_idle_timeout` (not the keep-alive idle_timeout), and one client address holds
// at most `max_unproven_per_client` of them: opening one more closes that address's oldest
// idle unproven one. Proven connections are never closed for room. Event loop only.

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>

namespace audit::api::http {

class SessionBase;

class ClientLimits {
 public:
  explicit ClientLimits(std::size_t max_unproven_per_client)
      : max_unproven_per_client_(max_unproven_per_client) {}

  /**
   * A connection from `address` was accepted. @return a connection to close for it (the
   * address's oldest idle unproven one, when the address is over its share), or null.
   */
  std::shared_ptr<SessionBase> opened(const std::shared_ptr<SessionBase>& session,
                                      const boost::asio::ip::address& address);
  void setIdle(const SessionBase* session, bool idle);
  void setProven(const SessionBase* session);
  bool proven(const SessionBase* session) const;
  void closed(const SessionBase* session);

  std::size_t unproven(const boost::asio::ip::address& address) const;

 private:
  struct Entry {
    std::weak_ptr<SessionBase> session;
    boost::asio::ip::address address;
    std::uint64_t seq = 0;  // accept order: lower is older
    bool idle = false;      // kept alive, waiting for its next request's first byte
    bool proven = false;
  };
  std::shared_ptr<SessionBase> oldestIdleUnproven(const boost::asio::ip::address* address);

  std::size_t max_unproven_per_client_;
  std::unordered_map<const SessionBase*, Entry> entries_;
  std::map<boost::asio::ip::address, std::size_t> unproven_by_address_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace audit::api::http
