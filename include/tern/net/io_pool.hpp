// One asio::io_context per thread (per core by default); each connection is pinned to one of them.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

namespace tern::net {

class IoContextPool {
 public:
  explicit IoContextPool(std::size_t threads);
  ~IoContextPool();
  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  void start();  // spawns one thread per context
  void stop();   // stops every context (pending handlers are abandoned)
  void join();   // waits for the threads
  asio::io_context& next() noexcept;  // round-robin choice for a new connection
  std::size_t size() const noexcept { return contexts_.size(); }
  asio::io_context& at(std::size_t i) noexcept { return *contexts_[i]; }
  // Lets the contexts run out of work and return (used for graceful shutdown).
  void release_work();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace tern::net
