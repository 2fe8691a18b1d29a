// A Transport for builds or configurations without outbound delivery: every recipient is deferred with
// "no route", so mail stays queued (and is retried, warned about and finally bounced) instead of lost.
#pragma once

#include "tern/queue/transport.hpp"

namespace tern::queue {

class NoRouteTransport : public Transport {
 public:
  asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& request) override;
};

}  // namespace tern::queue
