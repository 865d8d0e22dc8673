// The bench's arithmetic, kept apart from the timing so that it can be unit-tested:
// medians, the bytes an epoch must read, effective bandwidth, its share of the copy bandwidth,
// throughput and speedups. Every function returns NaN when its inputs cannot give a number
// (an empty sample, a zero time), so that a missing measurement prints as "-" and serialises as
// null instead of turning into an infinity.
#pragma once

#include <cstdint>
#include <vector>

namespace linreg::bench {

// Median of the samples (mean of the two middle ones for an even count); NaN when empty.
double median(std::vector<double> samples);

// Bytes of X and y an SGD epoch reads at least once: n·(d+1)·sizeof(float).
// (The floor of any trainer: every row and label must come from memory once per epoch.)
double bytes_per_epoch(int64_t examples, int64_t features);

// Effective bandwidth in bytes/s: the bytes an epoch must read ÷ the epoch's time.
double effective_bandwidth(double bytes, double seconds);

// That bandwidth as a share (0..1, may exceed 1 when the data sits in cache) of the device's
// copy bandwidth, which counts bytes read plus bytes written.
double bandwidth_share(double bandwidth, double copy_bandwidth);

// Examples processed per second by one epoch.
double samples_per_second(int64_t examples, double epoch_seconds);

// How many times faster `fast` is than `base`, both in samples/s (so rows of different sizes
// compare by throughput): fast / base.
double speedup(double fast_samples_per_second, double base_samples_per_second);

// Copy bandwidth from one timed copy: a copy of `bytes` reads them and writes them, so
// 2·bytes ÷ seconds.
double copy_bandwidth(double bytes_copied, double seconds);

}  // namespace linreg::bench
