#pragma once
// Runs a coroutine to completion on a test's own io_context, in the test's thread.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <utility>

namespace audit::webhook::testing {

template <class T>
T runAwaitable(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  auto result = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  io.restart();
  io.run();  // returns once nothing is pending: the task and what it left behind are done
  return result.get();
}

}  // namespace audit::webhook::testing
