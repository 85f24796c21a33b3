#include "common/scheduler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace audit {
namespace {

class SteadyWaitTimer final : public WaitTimer {
 public:
  explicit SteadyWaitTimer(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  boost::asio::awaitable<bool> wait(Millis duration) override {
    if (duration == kNoDeadline) {
      timer_.expires_at(boost::asio::steady_timer::time_point::max());
    } else {
      timer_.expires_after(duration);
    }
    auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return !ec;
  }

  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

WaitTimerPtr RealScheduler::makeTimer(boost::asio::any_io_executor executor) {
  return std::make_unique<SteadyWaitTimer>(std::move(executor));
}

}  // namespace audit
