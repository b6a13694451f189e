#pragma once
// A bounded pool for latency-bound work (HTTP range reads). TBB sizes its workers to the cores
// (and warns when asked for more), but a read spends most of its time waiting on the network,
// so reads want more concurrent tasks than cores.

#include <functional>

namespace s2prep {

// Runs task(0) .. task(count - 1) on at most `workers` threads (the calling thread is one of
// them). The first exception stops the handing out of further tasks and is rethrown here after
// the running ones finish.
void run_bounded(int count, int workers, const std::function<void(int)>& task);

}  // namespace s2prep
