#include "ctl/event_check.hpp"

#include "source/event_time.hpp"

namespace audit::ctl {

EventCheck checkEvent(std::string_view line) {
  source::EventTime time = source::extractEventTime(line);
  if (!time.ok) return EventCheck{std::nullopt, std::move(time.reason)};
  return EventCheck{time.ms, {}};
}

}  // namespace audit::ctl
