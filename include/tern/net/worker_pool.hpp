// A bounded pool of threads for work that blocks (fsync, password hashing, LDAP, SQLite).
// Protocol sessions never block their I/O thread: they co_await run_blocking(pool, fn), which hops to a
// worker and back to the session's own executor.
#pragma once

#include <atomic>
#include <cstddef>
#include <type_traits>

#include <asio/awaitable.hpp>
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include "tern/core/result.hpp"

namespace tern::net {

class WorkerPool {
 public:
  // `threads` workers; at most `max_pending` jobs queued or running before callers are told to back off.
  explicit WorkerPool(std::size_t threads, std::size_t max_pending = 4096)
      : pool_(threads), max_pending_(max_pending) {}
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  asio::thread_pool::executor_type executor() noexcept { return pool_.get_executor(); }
  void stop() {
    pool_.stop();
    pool_.join();
  }
  std::size_t pending() const noexcept { return pending_.load(); }

  // Runs fn() on a worker and resumes on the caller's executor. fn returns Result<T>.
  // When the pool is saturated the call fails fast with a temporary error instead of queueing without bound.
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> run(F fn) {
    using R = std::invoke_result_t<F>;
    if (pending_.fetch_add(1) >= max_pending_) {
      pending_.fetch_sub(1);
      co_return R(fail(ErrorCategory::temporary, "server busy: too much blocking work queued"));
    }
    auto home = co_await asio::this_coro::executor;
    // post(ex, use_awaitable) would resume on the coroutine's own executor; binding the token to the
    // pool's executor is what moves the coroutine's body onto a worker thread, and back again.
    co_await asio::post(asio::bind_executor(pool_.get_executor(), asio::use_awaitable));
    R result = fn();
    pending_.fetch_sub(1);
    co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
    co_return result;
  }

 private:
  asio::thread_pool pool_;
  std::size_t max_pending_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace tern::net
