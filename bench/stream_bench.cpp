// Streamed SGD against its floors, side by side in one run, on one .npy file in the page cache:
//   read      the file's bytes alone (read(2) in 1 MiB pieces): the page cache's rate, the floor
//             of any pass over the file
//   decode    the same rows through NpyRows (checked float32 rows): what a streamed pass reads
//   memory    an in-memory epoch (steps + the full-data loss), the data loaded once before
//   streamed  a streamed epoch (steps with the next chunk read meanwhile, and the epoch before's
//             loss on each chunk as it arrives; the last loss has a pass of its own), averaged
//             over the run, and the mean of epochs 2.. alone (one pass each, buffers warm)
// Each trains kEpochs epochs per repeat and reports the time per epoch. Prints the median of
// `repeats` and the ratios: the streamed epoch over max(one decode pass, the in-memory epoch) is
// the gap to the floor (a streamed epoch reads the file once, plus one pass per run).
// With `gpu` last (a CUDA build on a machine with a GPU), the GPU's side too, SGD passes only
// (the loss pass is timed apart by the trainers):
//   upload      the rows' bytes copied from pinned host memory to the device: the copy floor
//   gpu memory  one in-memory GPU epoch's SGD pass (the data resident on the device)
//   gpu pinned  one streamed SGD pass from pinned host memory (copies beside the steps)
//   gpu file    one streamed SGD pass from the file (read, pinned, copied, trained in flight)
// and the streamed passes over max(upload, gpu memory), and the file's over max(read, that).
//
//     build/linreg_stream_bench FILE.npy [chunk_rows] [batch] [repeats] [gpu]   (default 500000 1024 3)
//
// Make the file with `linreg generate --examples 4000000 --features 16 --out big.npy`.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "host/data/npy.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"

using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double timed(const F& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class FileChunks final : public linreg::RowChunks {
 public:
  explicit FileChunks(const linreg::data::NpyRows& f) : f_(f) {}
  int64_t rows() const override { return f_.rows(); }
  int64_t features() const override { return f_.features(); }
  void read(int64_t r0, int64_t count, float* X, float* y) const override { f_.read_floats(r0, count, X, y); }

 private:
  const linreg::data::NpyRows& f_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: linreg_stream_bench FILE.npy [chunk_rows] [batch] [repeats] [gpu]\n");
    return 2;
  }
  const std::string path = argv[1];
  const long long chunk = argc > 2 ? std::atoll(argv[2]) : 500000, batch = argc > 3 ? std::atoll(argv[3]) : 1024;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 3;
  const bool gpu = argc > 5 && std::string(argv[5]) == "gpu";
  try {
    const linreg::data::NpyRows file(path, {});
    linreg::TrainOptions opt;
    opt.batch_size = batch;
    constexpr int kEpochs = 4;
    opt.epochs = kEpochs;
    opt.lr = 0.01f;
    std::vector<double> read_s, decode_s, memory_s, streamed_s, later_s;
    std::vector<char> buf(size_t{1} << 20);
    linreg::HostDataset whole;
    file.read(0, file.rows(), whole, true);
    auto trainer = linreg::make_cpu_trainer(0);  // as `linreg train` runs it (its permutation on a second thread)
    trainer->load(whole, nullptr);
    const FileChunks chunks(file);
    for (int r = 0; r < repeats; ++r) {
      read_s.push_back(timed([&] {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && ::read(fd, buf.data(), buf.size()) > 0) {
        }
        if (fd >= 0) ::close(fd);
      }));
      decode_s.push_back(timed([&] {
        linreg::HostDataset ds;
        for (int64_t r0 = 0; r0 < file.rows(); r0 += chunk) file.read(r0, std::min<int64_t>(chunk, file.rows() - r0), ds, true);
      }));
      linreg::TrainResult m = trainer->fit(opt);
      memory_s.push_back((m.train_seconds + m.eval_seconds) / kEpochs);
      std::vector<double> epoch_s;
      linreg::TrainResult s = linreg::train_streamed(chunks, opt, chunk, [&](const linreg::EpochReport& rep) {
        epoch_s.push_back(rep.epoch_seconds);
      });
      streamed_s.push_back((s.train_seconds + s.eval_seconds) / kEpochs);
      // Epochs 2..: one pass each (steps, and the loss of the epoch before), the buffers in use.
      double later = 0;
      for (size_t e = 1; e < epoch_s.size(); ++e) later += epoch_s[e];
      later_s.push_back(later / static_cast<double>(epoch_s.size() - 1));
    }
    const double rd = median(read_s), dc = median(decode_s), mem = median(memory_s), st = median(streamed_s),
                 lt = median(later_s);
    std::printf("file %s: %lld rows x %lld features, chunks of %lld rows, batch %lld, median of %d\n", path.c_str(),
                static_cast<long long>(file.rows()), static_cast<long long>(file.features()), chunk, batch, repeats);
    std::printf("  read (bytes only)   %8.3f s\n  decode (one pass)   %8.3f s   %5.2fx read\n", rd, dc, dc / rd);
    std::printf("  in-memory epoch     %8.3f s   (%d epochs a run)\n  streamed epoch      %8.3f s   %5.2fx in-memory, %5.2fx max(decode, in-memory)\n",
                mem, kEpochs, st, st / mem, st / std::max(dc, mem));
    std::printf("  streamed, epochs 2+ %8.3f s   %5.2fx in-memory (the first pass also touches the buffers' pages)\n", lt,
                lt / mem);
    if (gpu) {
      const linreg::GpuBackend& backend = linreg::gpu_backend();  // throws, naming why, without a GPU
      const int64_t bytes = file.rows() * (file.features() + 1) * static_cast<int64_t>(sizeof(float));
      std::vector<double> up_s, gmem_s, pinned_s, gfile_s;
      auto g = backend.make_trainer(0);
      g->load(whole, nullptr);
      const linreg::ResidentRows resident(whole);
      for (int r = 0; r < repeats; ++r) {
        const std::vector<double> up = backend.upload_seconds(bytes, 1);
        up_s.push_back(up[0]);
        gmem_s.push_back(g->fit(opt).train_seconds / kEpochs);
        pinned_s.push_back(backend.train_streamed(resident, opt, chunk, {}, nullptr, nullptr).train_seconds / kEpochs);
        gfile_s.push_back(backend.train_streamed(chunks, opt, chunk, {}, nullptr, nullptr).train_seconds / kEpochs);
      }
      const double up = median(up_s), gm = median(gmem_s), pn = median(pinned_s), gf = median(gfile_s);
      std::printf("GPU %s, SGD passes only (per epoch):\n", backend.probe().name.c_str());
      std::printf("  upload (copy floor) %8.4f s   %6.1f GB/s\n", up, static_cast<double>(bytes) / up / 1e9);
      std::printf("  gpu in-memory pass  %8.4f s\n", gm);
      std::printf("  gpu pinned stream   %8.4f s   %5.2fx max(upload, in-memory)\n", pn, pn / std::max(up, gm));
      std::printf("  gpu file stream     %8.4f s   %5.2fx max(read, upload, in-memory)\n", gf, gf / std::max({rd, up, gm}));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linreg_stream_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
