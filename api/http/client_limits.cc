#include "api/http/client_limits.hpp"

namespace audit::api::http {

std::shared_ptr<SessionBase> ClientLimits::opened(const std::shared_ptr<SessionBase>& session,
                                                  const boost::asio::ip::address& address) {
  std::shared_ptr<SessionBase> victim;
  if (unproven(address) >= max_unproven_per_client_) victim = oldestIdleUnproven(&address);
  // Not idle yet: a fresh connection is bounded by request_timeout for its first request,
  // and many honest clients behind one address (a shipper's pool) open at once.
  entries_[session.get()] = Entry{session, address, next_seq_++, false, false};
  ++unproven_by_address_[address];
  return victim;
}

std::shared_ptr<SessionBase> ClientLimits::oldestIdleUnproven(
    const boost::asio::ip::address* address) {
  // Linear: bounded by the listener's connection limit (hundreds), and only run when a
  // client is over its share or the listener is full.
  const SessionBase* oldest = nullptr;
  std::uint64_t oldest_seq = 0;
  for (const auto& [key, entry] : entries_) {
    if (entry.proven || !entry.idle || (address != nullptr && entry.address != *address)) {
      continue;
    }
    if (oldest == nullptr || entry.seq < oldest_seq) {
      oldest = key;
      oldest_seq = entry.seq;
    }
  }
  if (oldest == nullptr) return nullptr;
  auto session = entries_.at(oldest).session.lock();
  closed(oldest);  // no longer counted, whether or not it was still alive
  return session;
}

void ClientLimits::setIdle(const SessionBase* session, bool idle) {
  if (auto it = entries_.find(session); it != entries_.end()) it->second.idle = idle;
}

void ClientLimits::setProven(const SessionBase* session) {
  auto it = entries_.find(session);
  if (it == entries_.end() || it->second.proven) return;
  it->second.proven = true;
  auto count = unproven_by_address_.find(it->second.address);
  if (count != unproven_by_address_.end() && --count->second == 0) {
    unproven_by_address_.erase(count);
  }
}

bool ClientLimits::proven(const SessionBase* session) const {
  auto it = entries_.find(session);
  return it != entries_.end() && it->second.proven;
}

void ClientLimits::closed(const SessionBase* session) {
  auto it = entries_.find(session);
  if (it == entries_.end()) return;
  if (!it->second.proven) {
    auto count = unproven_by_address_.find(it->second.address);
    if (count != unproven_by_address_.end() && --count->second == 0) {
      unproven_by_address_.erase(count);
    }
  }
  entries_.erase(it);
}

std::size_t ClientLimits::unproven(const boost::asio::ip::address& address) const {
  auto it = unproven_by_address_.find(address);
  return it == unproven_by_address_.end() ? 0 : it->second;
}

}  // namespace audit::api::http
