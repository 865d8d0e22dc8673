// JobBatches (host/train/job_batches.hpp), the bookkeeping by which a GPU rank of a job finds
// each minibatch's rows among those it holds, checked on the host against the job's two-level
// order written out whole: every rank must take the minibatches of that order, in order, each
// with exactly its rows of it in the order's sequence, and the job's size of each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "host/train/job_batches.hpp"
#include "host/train/permutation.hpp"

namespace linreg {
namespace {

struct Row {
  int rank;
  int64_t local;  // the row's index among its rank's rows
  bool operator==(const Row& o) const { return rank == o.rank && local == o.local; }
};

struct Batch {
  int64_t size = 0;              // across the job
  std::vector<int64_t> mine;     // one rank's rows of it, in the order's sequence
  bool operator==(const Batch& o) const { return size == o.size && mine == o.mine; }
};

int64_t piece(const std::vector<int64_t>& ranks_rows, int r, int64_t k, int64_t C) {
  return std::clamp<int64_t>(ranks_rows[static_cast<size_t>(r)] - k * C, 0, C);
}

// The chunk order of the epoch, then each chunk's order of every rank's rows of it.
std::vector<uint32_t> chunk_order(int64_t chunks, uint64_t seed, int64_t e) {
  std::vector<uint32_t> order(static_cast<size_t>(chunks));
  if (chunks == 1) order[0] = 0;
  else thrust_compatible_permutation(chunks, chunk_order_seed(seed, e), order.data());
  return order;
}
std::vector<uint32_t> rows_order(int64_t R, uint64_t seed, int64_t e, int64_t k) {
  std::vector<uint32_t> order(static_cast<size_t>(R));
  thrust_compatible_permutation(R, chunk_rows_seed(seed, e, k), order.data());
  return order;
}

// The reference: the epoch's whole order of the job's rows, cut into minibatches of `batch`,
// each seen by rank q.
std::vector<Batch> reference(const std::vector<int64_t>& ranks_rows, int64_t C, int64_t batch, uint64_t seed, int64_t e,
                             int q) {
  const int ranks = static_cast<int>(ranks_rows.size());
  const int64_t most = *std::max_element(ranks_rows.begin(), ranks_rows.end());
  const int64_t chunks = (most + C - 1) / C;
  std::vector<Row> all;
  for (const uint32_t k : chunk_order(chunks, seed, e)) {
    int64_t R = 0;
    for (int r = 0; r < ranks; ++r) R += piece(ranks_rows, r, k, C);
    for (const uint32_t o : rows_order(R, seed, e, k)) {
      int64_t before = 0;
      int r = 0;
      while (o >= before + piece(ranks_rows, r, k, C)) before += piece(ranks_rows, r++, k, C);
      all.push_back({r, static_cast<int64_t>(k) * C + (o - before)});
    }
  }
  std::vector<Batch> out;
  for (size_t s = 0; s < all.size(); s += static_cast<size_t>(batch)) {
    Batch b;
    b.size = std::min<int64_t>(batch, static_cast<int64_t>(all.size() - s));
    for (size_t i = s; i < s + static_cast<size_t>(b.size); ++i)
      if (all[i].rank == q) b.mine.push_back(all[i].local);
    out.push_back(b);
  }
  return out;
}

// What rank q takes with JobBatches, as the GPU streamer drives it: per chunk, its rows in the
// chunk's order behind the ones left over, then the left-over ones moved to the front.
std::vector<Batch> with_job_batches(const std::vector<int64_t>& ranks_rows, int64_t C, int64_t batch, uint64_t seed,
                                    int64_t e, int q) {
  const int ranks = static_cast<int>(ranks_rows.size());
  const int64_t most = *std::max_element(ranks_rows.begin(), ranks_rows.end());
  const int64_t chunks = (most + C - 1) / C;
  std::vector<int64_t> ordered;  // the rank's ordered rows, as its local row indices
  std::vector<Batch> out;
  JobBatches batches(batch);
  const auto step = [&](int64_t start, int64_t count, int64_t size) {
    ASSERT_GE(start, 0);
    ASSERT_LE(start + count, static_cast<int64_t>(ordered.size()));
    Batch b;
    b.size = size;
    b.mine.assign(ordered.begin() + start, ordered.begin() + start + count);
    out.push_back(b);
  };
  for (const uint32_t k : chunk_order(chunks, seed, e)) {
    int64_t R = 0, first = 0;
    for (int r = 0; r < ranks; ++r) {
      if (r < q) first += piece(ranks_rows, r, k, C);
      R += piece(ranks_rows, r, k, C);
    }
    const int64_t m = piece(ranks_rows, q, k, C);
    std::vector<uint32_t> at;
    EXPECT_EQ(batches.left(), static_cast<int64_t>(ordered.size()));
    const std::vector<uint32_t> order = rows_order(R, seed, e, k);
    for (int64_t p = 0; p < R; ++p) {
      const int64_t r = static_cast<int64_t>(order[static_cast<size_t>(p)]) - first;
      if (r >= 0 && r < m) {
        ordered.push_back(static_cast<int64_t>(k) * C + r);
        at.push_back(static_cast<uint32_t>(p));
      }
    }
    const int64_t start = batches.chunk(at.data(), m, R, step);
    ordered.erase(ordered.begin(), ordered.begin() + start);
    EXPECT_EQ(batches.left(), static_cast<int64_t>(ordered.size()));
  }
  batches.finish(step);
  EXPECT_EQ(batches.left(), 0);
  EXPECT_EQ(batches.held(), 0);
  return out;
}

TEST(JobBatches, EveryRankTakesItsRowsOfEachMinibatchOfTheJobsOrder) {
  std::mt19937_64 rng(12);
  int cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int ranks = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> ranks_rows(static_cast<size_t>(ranks));
    for (int64_t& r : ranks_rows) r = static_cast<int64_t>(rng() % 60);  // a rank may hold none
    if (*std::max_element(ranks_rows.begin(), ranks_rows.end()) == 0) continue;
    const int64_t C = 1 + static_cast<int64_t>(rng() % 25);
    const int64_t total = std::accumulate(ranks_rows.begin(), ranks_rows.end(), int64_t{0});
    const int64_t batch = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(total + 5));  // up to past the data
    const uint64_t seed = rng();
    const int64_t e = static_cast<int64_t>(rng() % 3);
    std::string at = "ranks";
    for (const int64_t r : ranks_rows) at += " " + std::to_string(r);
    at += ", chunk " + std::to_string(C) + ", batch " + std::to_string(batch);
    for (int q = 0; q < ranks; ++q) {
      const std::vector<Batch> want = reference(ranks_rows, C, batch, seed, e, q);
      const std::vector<Batch> got = with_job_batches(ranks_rows, C, batch, seed, e, q);
      ASSERT_EQ(got.size(), want.size()) << at << ", rank " << q;
      for (size_t s = 0; s < want.size(); ++s) {
        EXPECT_EQ(got[s].size, want[s].size) << at << ", rank " << q << ", step " << s;
        EXPECT_EQ(got[s].mine, want[s].mine) << at << ", rank " << q << ", step " << s;
      }
    }
    ++cases;
  }
  EXPECT_GT(cases, 250);
}

TEST(JobBatches, AMinibatchAcrossChunksAndARankWithNoRowsInIt) {
  // Two ranks of 3 and 1 rows in chunks of 2, batch 3: chunk 0 holds rows {0, 1} of rank 0 and
  // {0} of rank 1; chunk 1 holds {2} of rank 0 only. Whatever the shuffles, the epoch is a
  // minibatch of 3 rows then one of 1, and rank 1 takes its one row in exactly one of them.
  const std::vector<int64_t> ranks_rows = {3, 1};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<Batch> r1 = with_job_batches(ranks_rows, 2, 3, seed, 0, 1);
    ASSERT_EQ(r1.size(), 2u);
    EXPECT_EQ(r1[0].size, 3);
    EXPECT_EQ(r1[1].size, 1);
    EXPECT_EQ(r1[0].mine.size() + r1[1].mine.size(), 1u);
    EXPECT_EQ(r1, reference(ranks_rows, 2, 3, seed, 0, 1));
  }
}

}  // namespace
}  // namespace linreg
