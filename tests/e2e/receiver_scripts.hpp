#pragma once
// Receiver scripts the end-to-end tests share.

#include <chrono>

#include "sink/receiver.hpp"

namespace audit::e2e {

/** Answers 200 to every request after `delay`, so that a kill lands in the middle of a job. */
inline sink::Script slowly(std::chrono::milliseconds delay) {
  return [delay](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply r;
    r.delay = delay;
    return r;
  };
}

}  // namespace audit::e2e
