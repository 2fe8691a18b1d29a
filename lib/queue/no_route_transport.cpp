#include "tern/queue/no_route_transport.hpp"

namespace tern::queue {

asio::awaitable<std::vector<RecipientStatus>> NoRouteTransport::deliver(const DeliveryRequest& request) {
  std::vector<RecipientStatus> out(request.recipients.size(),
                                   RecipientStatus{RecipientOutcome::deferred, 451, "4.4.0",
                                                   "no route to " + request.domain +
                                                       ": outbound delivery is not configured in this server",
                                                   ""});
  co_return out;
}

}  // namespace tern::queue
