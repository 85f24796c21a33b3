#include "ctl/event_check.hpp"

#include "store/event_time.hpp"

namespace audit::ctl {

EventCheck checkEvent(std::string_view line) {
  store::EventTime time = store::extractEventTime(line);
  if (!time.ok) return EventCheck{std::nullopt, std::move(time.reason)};
  return EventCheck{time.ms, {}};
}

}  // namespace audit::ctl
