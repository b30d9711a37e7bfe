// InferenceSession: the engine-neutral interface every runtime adapter
// implements (runtime/onnxruntime/ is the one shipped). Model code above this
// line never includes an engine header.
//
// Thread-safety: run() may be called concurrently from several threads on one
// session (ONNX Runtime sessions are thread-safe for Run); each call gets its
// own output tensors. Ownership: the caller owns the input buffer for the
// duration of run(); outputs are returned by value.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace visearch {

struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;

  [[nodiscard]] std::int64_t dim(std::size_t i) const { return i < shape.size() ? shape[i] : 0; }
};

struct TensorInfo {
  std::string name;
  std::vector<std::int64_t> shape;  // -1 for dynamic dimensions
};

struct RuntimeOptions {
  int intra_op_threads = 0;    // 0 = engine default (one per core)
  bool allow_spinning = true;  // busy-wait between ops: lower latency, burns CPU when idle
};

class InferenceSession {
 public:
  virtual ~InferenceSession() = default;
  InferenceSession() = default;
  InferenceSession(const InferenceSession&) = delete;
  InferenceSession& operator=(const InferenceSession&) = delete;
  InferenceSession(InferenceSession&&) = delete;
  InferenceSession& operator=(InferenceSession&&) = delete;

  [[nodiscard]] virtual const std::vector<TensorInfo>& inputs() const = 0;
  [[nodiscard]] virtual const std::vector<TensorInfo>& outputs() const = 0;
  // Runs the graph on one float32 input; returns every output, in graph order. Outputs of another
  // numeric type (int64 class ids, say) come back converted to float.
  virtual Result<std::vector<Tensor>> run(std::span<const float> input,
                                          std::span<const std::int64_t> shape) = 0;
  // The same for a uint8 input (TensorFlow exports that take the pixels as they are).
  virtual Result<std::vector<Tensor>> run_uint8(std::span<const std::uint8_t> input,
                                                std::span<const std::int64_t> shape) = 0;
  // How many times run() / run_uint8() have called the engine on this session, since it was opened.
  [[nodiscard]] virtual std::uint64_t runs() const = 0;
};

// Opens an ONNX file with ONNX Runtime on CPU. Errors: kModelMissing (file),
// kInference (runtime library not loadable, graph rejected).
Result<std::unique_ptr<InferenceSession>> open_onnx_session(const std::string& path,
                                                            const RuntimeOptions& options);

// "1.29.0", or an error when the runtime library cannot be loaded.
Result<std::string> onnxruntime_version();

}  // namespace visearch
