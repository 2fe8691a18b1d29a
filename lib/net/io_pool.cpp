#include "tern/net/io_pool.hpp"

#include <string>

#include "tern/core/log.hpp"
#include "tern/core/thread_name.hpp"

namespace tern::net {

IoContextPool::IoContextPool(std::size_t threads) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));  // concurrency hint: one thread each
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
}

IoContextPool::~IoContextPool() {
  stop();
  join();
}

void IoContextPool::start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get(), n = threads_.size()] {
      set_thread_name("tern-io-" + std::to_string(n));
      // Handlers report errors as values; an escaping exception is a bug, logged rather than fatal.
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          log::error("io.unhandled_exception", {{"what", e.what()}});
        }
      }
    });
  }
}

void IoContextPool::release_work() { guards_.clear(); }

void IoContextPool::stop() {
  for (auto& ctx : contexts_) ctx->stop();
}

void IoContextPool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

asio::io_context& IoContextPool::next() noexcept {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace tern::net
