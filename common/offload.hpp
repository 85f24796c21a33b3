#pragma once
// Runs blocking work (RocksDB, gzip, fsync) on the worker pool and resumes the awaiting
// coroutine on its own executor — the event loop never blocks on disk or CPU-heavy work.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace audit {

/**
 * auto work = [] { return blockingWork(); };  co_await offload(pool, work);
 * `fn` must not throw. Name the lambda before the co_await: GCC 12 destroys a capturing
 * lambda twice when it is a temporary of a co_await expression (a double free).
 */
template <class F>
auto offload(boost::asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F&>;
  namespace asio = boost::asio;
  if constexpr (std::is_void_v<R>) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [&pool](auto handler, F work) {
          auto resume_on = asio::get_associated_executor(handler);
          asio::post(pool,
                     [handler = std::move(handler), work = std::move(work), resume_on]() mutable {
                       work();
                       asio::post(resume_on, std::move(handler));
                     });
        },
        asio::use_awaitable, std::move(fn));
  } else {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
        [&pool](auto handler, F work) {
          auto resume_on = asio::get_associated_executor(handler);
          asio::post(
              pool, [handler = std::move(handler), work = std::move(work), resume_on]() mutable {
                R result = work();
                asio::post(resume_on,
                           [handler = std::move(handler), result = std::move(result)]() mutable {
                             std::move(handler)(std::move(result));
                           });
              });
        },
        asio::use_awaitable, std::move(fn));
  }
}

}  // namespace audit
