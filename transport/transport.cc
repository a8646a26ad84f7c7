#include "transport/transport.h"

#include <algorithm>
#include <vector>

namespace tessera {

Status Transport::AllReduceSum(std::span<float> data, std::span<const int> group,
                               std::chrono::milliseconds timeout) {
  if (std::find(group.begin(), group.end(), rank()) == group.end())
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank(), " is not in the reduction group"));
  const auto bytes = std::as_bytes(data);
  for (int peer : group)
    if (peer != rank()) TESSERA_RETURN_IF_ERROR(Send(peer, bytes));
  // Gather every contribution, then add in group order: the same order on every rank.
  std::vector<std::vector<float>> parts(group.size());
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i] == rank()) {
      parts[i].assign(data.begin(), data.end());
    } else {
      parts[i].resize(data.size());
      TESSERA_RETURN_IF_ERROR(Recv(group[i], std::as_writable_bytes(std::span<float>(parts[i])), timeout));
    }
  }
  std::fill(data.begin(), data.end(), 0.0f);
  for (const auto& p : parts)
    for (std::size_t j = 0; j < data.size(); ++j) data[j] += p[j];
  return absl::OkStatus();
}

}  // namespace tessera
