// libFuzzer target for the safetensors reader: any byte string, parsed from memory and from a
// mapped file, must give either an error or tensors that lie inside the input.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "checkpoint/safetensors.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Reads every byte, so ASan reports a view that reaches past the input.
std::uint8_t Touch(std::span<const std::uint8_t> bytes) {
  std::uint8_t x = 0;
  for (std::uint8_t b : bytes) x ^= b;
  return x;
}

std::uint64_t ExpectedBytes(tessera::DType dtype, const std::vector<std::int64_t>& shape) {
  std::uint64_t n = tessera::DTypeSize(dtype);
  for (std::int64_t d : shape) n *= static_cast<std::uint64_t>(d);  // validated: no overflow
  return n;
}

// Rewritten for every input: tmpfs keeps that off the disk. Removed at exit.
struct TempFile {
  std::string path;
  TempFile() {
    path = (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    path += "/tessera_fuzz_XXXXXX";
    int fd = ::mkstemp(path.data());
    Check(fd >= 0);
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

const std::string& TempPath() {
  static const TempFile file;
  return file.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  volatile std::uint8_t sink = 0;

  tessera::StatusOr<tessera::SafetensorsHeader> header =
      tessera::SafetensorsFile::ParseHeader(input, "fuzz-input");
  if (header.ok()) {
    Check(header->data_start >= 8 && header->data_start <= size);
    for (const auto& [name, t] : header->tensors) {
      Check(t.begin >= header->data_start && t.begin <= t.end && t.end <= size);
      Check(t.end - t.begin == ExpectedBytes(t.dtype, t.shape));
      sink = sink ^ Touch(input.subspan(t.begin, t.end - t.begin));
    }
  } else {
    Check(!header.status().message().empty());
  }

  // The same bytes through Open and Get, as a real checkpoint would be read.
  const std::string& path = TempPath();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  Check(f != nullptr);
  Check(size == 0 || std::fwrite(data, 1, size, f) == size);
  Check(std::fclose(f) == 0);
  tessera::StatusOr<tessera::SafetensorsFile> file = tessera::SafetensorsFile::Open(path);
  Check(file.ok() == header.ok());
  if (file.ok()) {
    for (const std::string& name : file->Names()) {
      tessera::StatusOr<tessera::TensorView> t = file->Get(name);
      Check(t.ok());
      Check(t->bytes.size() == ExpectedBytes(t->dtype, t->shape));
      sink = sink ^ Touch(t->bytes);
    }
    Check(!file->Get("\x01 no such tensor").ok());
  }
  return 0;
}
