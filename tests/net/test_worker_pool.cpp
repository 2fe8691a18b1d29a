#include <boost/test/unit_test.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <future>
#include <optional>
#include <thread>

#include "tern/net/worker_pool.hpp"

using namespace tern;

BOOST_AUTO_TEST_CASE(blocking_work_runs_off_the_io_thread_and_resumes_on_it) {
  asio::io_context io;
  net::WorkerPool pool(2);
  std::thread::id io_thread, work_thread, resumed_thread;
  int value = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    io_thread = std::this_thread::get_id();
    auto r = co_await pool.run([&]() -> Result<int> {
      work_thread = std::this_thread::get_id();
      return 42;
    });
    resumed_thread = std::this_thread::get_id();
    value = r ? *r : -1;
  }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  BOOST_TEST(value == 42);
  BOOST_TEST((work_thread != io_thread));
  BOOST_TEST((resumed_thread == io_thread));
}

BOOST_AUTO_TEST_CASE(a_saturated_pool_fails_fast_instead_of_queueing_forever) {
  asio::io_context io;
  net::WorkerPool pool(1, 1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::optional<Result<int>> first, second;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    // Capture by reference: a closure with non-trivial captures built inside co_await trips GCC 12 (see
    // docs/architecture.md).
    first = co_await pool.run([&gate]() -> Result<int> { gate.wait(); return 1; });
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    second = co_await pool.run([]() -> Result<int> { return 2; });
    release.set_value();  // the refusal came back at once; now let the first job finish
  }, asio::detached);
  io.run();
  BOOST_REQUIRE(first && second);
  BOOST_TEST(**first == 1);
  BOOST_REQUIRE(!*second);
  BOOST_TEST((second->error().category == ErrorCategory::temporary));
}
