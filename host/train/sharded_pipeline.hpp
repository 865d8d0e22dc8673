// run_training for a rank of a data-parallel job (pipeline.hpp routes here when the plan's
// cluster has more than one rank). The same route as one process, with each step made the job's:
//   each rank reads its shard of the rows (an .npy file: only those rows; a CSV file or the
//   synthetic problem: made whole, the shard kept) → the validation split, drawn over all rows
//   on every rank alike, each keeping its part → standardisation from the job's statistics →
//   the fit (SGD: one sum across ranks per minibatch; exact: one per pass over the data) →
//   the job's metrics. Every rank ends with the same outcome, apart from the rows it holds.
// A shard of an .npy file larger than --memory-limit (or the free memory) is streamed instead
// (streamed_pipeline.hpp), each rank reading its shard in chunks or parts.
// Errors are agreed (communicator.hpp: together): every rank throws AgreedError with the same
// message, so rank 0 alone reports it and no rank is left waiting.
#pragma once

#include "host/cluster/communicator.hpp"
#include "host/train/pipeline.hpp"

namespace linreg {

TrainOutcome run_training_sharded(const TrainPlan& plan, const Communicator& comm, const StartCallback& on_data,
                                  const StartCallback& on_start, const EpochCallback& on_epoch);

}  // namespace linreg
