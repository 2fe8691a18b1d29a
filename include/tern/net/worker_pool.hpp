// A bounded pool of threads for work that blocks (fsync, password hashing, LDAP, SQLite).
// Protocol sessions never block their I/O thread: they co_await run_blocking(pool, fn), which hops to a
// worker and back to the session's own executor.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>

#include <asio/awaitable.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/associated_executor.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include "tern/core/result.hpp"
#include "tern/core/thread_name.hpp"

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

  // Runs fn() on a worker and resumes the awaiting coroutine on its own executor. fn returns Result<T>.
  // When the pool is saturated the call fails fast with a temporary error instead of queueing without bound.
  //
  // GCC 12 destroys non-trivial by-value coroutine parameters twice in some co_await expressions (a double
  // free once a lambda captures a std::string), and use_awaitable's initiation is such a coroutine; so the
  // job crosses it as a plain pointer and is owned by a unique_ptr on either side.
  template <class F>
  auto run(F fn) {
    using R = std::invoke_result_t<F>;
    F* job = new F(std::move(fn));
    return asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
        [this](auto handler, F* raw) {
          std::unique_ptr<F> work(raw);
          auto home = asio::get_associated_executor(handler);
          if (pending_.fetch_add(1) >= max_pending_) {
            pending_.fetch_sub(1);
            asio::post(home, [h = std::move(handler)]() mutable {
              std::move(h)(R(fail(ErrorCategory::temporary, "server busy: too much blocking work queued")));
            });
            return;
          }
          auto guard = asio::make_work_guard(home);
          asio::post(pool_.get_executor(), [this, h = std::move(handler), work = std::move(work),
                                            guard = std::move(guard)]() mutable {
            // asio::thread_pool starts its threads itself: each names itself at its first job.
            static thread_local const bool named = (set_thread_name("tern-worker"), true);
            (void)named;
            R result = (*work)();
            work.reset();
            pending_.fetch_sub(1);
            auto ex = guard.get_executor();
            asio::post(ex, [h = std::move(h), result = std::move(result)]() mutable { std::move(h)(std::move(result)); });
          });
        },
        asio::use_awaitable, job);
  }

 private:
  asio::thread_pool pool_;
  std::size_t max_pending_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace tern::net
