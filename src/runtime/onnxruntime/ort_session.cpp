// ONNX Runtime adapter. The library is loaded with dlopen so one binary runs
// against the npm-packaged ORT 1.29, a system libonnxruntime.so.1, or a newer
// release (the C API is versioned). Search order for the library:
//   $VISEARCH_ORT_LIBRARY; installed beside the binary (PREFIX/lib/visearch, where the .deb puts the npm
//   build); in a build tree, the build folder's ort/ link (the nearest above the executable); then
//   libonnxruntime.so.1 from the system's library path.
#include <dlfcn.h>

#include <onnxruntime_cxx_api.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/install_layout.h"
#include "runtime/inference_session.h"

namespace visearch {
namespace {

struct OrtRuntime {
  bool ok = false;
  std::string error;
  std::string version;
  std::unique_ptr<Ort::Env> env;
};

OrtRuntime& ort_runtime() {
  static OrtRuntime runtime;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char* env_path = std::getenv("VISEARCH_ORT_LIBRARY");
        env_path != nullptr && *env_path != '\0') {
      candidates.emplace_back(env_path);
    }
    constexpr const char* kName = "libonnxruntime.so.1";
    namespace fs = std::filesystem;
    const fs::path exe = executable_dir();
    std::error_code ec;
    if (const fs::path installed = exe / ".." / "lib" / "visearch" / kName; fs::exists(installed, ec)) {
      candidates.push_back(installed.lexically_normal().string());
    }
    if (const fs::path built = nearest_above(exe, std::string("ort/") + kName); !built.empty()) {
      candidates.push_back(built.string());
    }
    candidates.emplace_back(kName);
    void* handle = nullptr;
    std::string tried;
    for (const std::string& path : candidates) {
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle != nullptr) break;
      const char* why = dlerror();
      tried += "\n  " + path + ": " + (why != nullptr ? why : "not loadable");
    }
    if (handle == nullptr) {
      runtime.error = "cannot load the ONNX Runtime library; tried:" + tried +
                      "\nset VISEARCH_ORT_LIBRARY to the path of libonnxruntime.so.1";
      return;
    }
    using GetApiBaseFn = const OrtApiBase* (*)();
    auto get_api_base = reinterpret_cast<GetApiBaseFn>(dlsym(handle, "OrtGetApiBase"));  // NOLINT
    if (get_api_base == nullptr) {
      runtime.error = "the ONNX Runtime library has no OrtGetApiBase symbol";
      return;
    }
    const OrtApiBase* base = get_api_base();
    const OrtApi* api = base->GetApi(ORT_API_VERSION);
    if (api == nullptr) {
      runtime.error = std::string("the ONNX Runtime library (") + base->GetVersionString() +
                      ") is older than the headers visearch was built with (API " +
                      std::to_string(ORT_API_VERSION) + ")";
      return;
    }
    Ort::InitApi(api);
    runtime.version = base->GetVersionString();
    try {
      runtime.env = std::make_unique<Ort::Env>(ORT_LOGGING_LEVEL_ERROR, "visearch");
    } catch (const Ort::Exception& e) {
      runtime.error = std::string("ONNX Runtime environment: ") + e.what();
      return;
    }
    runtime.ok = true;
  });
  return runtime;
}

std::vector<TensorInfo> describe(const Ort::Session& session, bool inputs) {
  std::vector<TensorInfo> infos;
  Ort::AllocatorWithDefaultOptions allocator;
  const std::size_t count = inputs ? session.GetInputCount() : session.GetOutputCount();
  for (std::size_t i = 0; i < count; ++i) {
    TensorInfo info;
    info.name = inputs ? session.GetInputNameAllocated(i, allocator).get()
                       : session.GetOutputNameAllocated(i, allocator).get();
    Ort::TypeInfo type = inputs ? session.GetInputTypeInfo(i) : session.GetOutputTypeInfo(i);
    if (type.GetONNXType() == ONNX_TYPE_TENSOR) {
      info.shape = type.GetTensorTypeAndShapeInfo().GetShape();
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

class OrtSession final : public InferenceSession {
 public:
  explicit OrtSession(std::unique_ptr<Ort::Session> session) : session_(std::move(session)) {
    inputs_ = describe(*session_, true);
    outputs_ = describe(*session_, false);
    for (const TensorInfo& info : outputs_) output_names_.push_back(info.name.c_str());
  }

  [[nodiscard]] const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  [[nodiscard]] const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  [[nodiscard]] std::uint64_t runs() const override { return runs_.load(std::memory_order_relaxed); }

  Result<std::vector<Tensor>> run(std::span<const float> input,
                                  std::span<const std::int64_t> shape) override {
    return run_value([&](const Ort::MemoryInfo& memory) {
      // ORT takes a non-const pointer but does not write to inputs.
      return Ort::Value::CreateTensor<float>(memory, const_cast<float*>(input.data()),  // NOLINT
                                             input.size(), shape.data(), shape.size());
    });
  }

  Result<std::vector<Tensor>> run_uint8(std::span<const std::uint8_t> input,
                                        std::span<const std::int64_t> shape) override {
    return run_value([&](const Ort::MemoryInfo& memory) {
      return Ort::Value::CreateTensor<std::uint8_t>(memory,
                                                    const_cast<std::uint8_t*>(input.data()),  // NOLINT
                                                    input.size(), shape.data(), shape.size());
    });
  }

 private:
  template <typename MakeInput>
  Result<std::vector<Tensor>> run_value(const MakeInput& make_input) {
    if (inputs_.size() != 1) {
      return Unexpected{ErrorCode::kInference,
                        "model has " + std::to_string(inputs_.size()) + " inputs, expected 1"};
    }
    try {
      const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      Ort::Value tensor = make_input(memory);
      const char* input_name = inputs_[0].name.c_str();
      runs_.fetch_add(1, std::memory_order_relaxed);
      std::vector<Ort::Value> values = session_->Run(Ort::RunOptions{nullptr}, &input_name, &tensor, 1,
                                                     output_names_.data(), output_names_.size());
      std::vector<Tensor> outputs;
      outputs.reserve(values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        Ort::TensorTypeAndShapeInfo info = values[i].GetTensorTypeAndShapeInfo();
        Tensor out;
        out.name = outputs_[i].name;
        out.shape = info.GetShape();
        if (!copy_as_float(values[i], info.GetElementType(), info.GetElementCount(), out.data)) {
          return Unexpected{ErrorCode::kInference,
                            "output '" + outputs_[i].name + "' is not a float, integer or boolean tensor"};
        }
        outputs.push_back(std::move(out));
      }
      return outputs;
    } catch (const Ort::Exception& e) {
      return Unexpected{ErrorCode::kInference, std::string("ONNX Runtime: ") + e.what()};
    }
  }

  template <typename T>
  static void append_as_float(const Ort::Value& value, std::size_t count, std::vector<float>& out) {
    const T* data = value.GetTensorData<T>();
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(static_cast<float>(data[i]));
  }

  // Class ids and counts come as int64 / int32 / float from exporters; decoders read floats.
  static bool copy_as_float(const Ort::Value& value, ONNXTensorElementDataType type, std::size_t count,
                            std::vector<float>& out) {
    switch (type) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: {
        const auto* data = value.GetTensorData<float>();
        out.assign(data, data + count);
        return true;
      }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
        append_as_float<double>(value, count, out);
        return true;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
        append_as_float<std::int64_t>(value, count, out);
        return true;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
        append_as_float<std::int32_t>(value, count, out);
        return true;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
        append_as_float<std::uint8_t>(value, count, out);
        return true;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
        append_as_float<bool>(value, count, out);
        return true;
      default:
        return false;
    }
  }

  std::unique_ptr<Ort::Session> session_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<const char*> output_names_;
  std::atomic<std::uint64_t> runs_{0};
};

}  // namespace

Result<std::string> onnxruntime_version() {
  OrtRuntime& runtime = ort_runtime();
  if (!runtime.ok) return Unexpected{ErrorCode::kInference, runtime.error};
  return runtime.version;
}

Result<std::unique_ptr<InferenceSession>> open_onnx_session(const std::string& path,
                                                            const RuntimeOptions& options) {
  OrtRuntime& runtime = ort_runtime();
  if (!runtime.ok) return Unexpected{ErrorCode::kInference, runtime.error};
  try {
    Ort::SessionOptions session_options;
    if (options.intra_op_threads > 0) session_options.SetIntraOpNumThreads(options.intra_op_threads);
    session_options.SetInterOpNumThreads(1);
    session_options.SetExecutionMode(ORT_SEQUENTIAL);
    session_options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    session_options.AddConfigEntry("session.intra_op.allow_spinning", options.allow_spinning ? "1" : "0");
    auto session = std::make_unique<Ort::Session>(*runtime.env, path.c_str(), session_options);
    return std::unique_ptr<InferenceSession>(std::make_unique<OrtSession>(std::move(session)));
  } catch (const Ort::Exception& e) {
    return Unexpected{ErrorCode::kInference, "cannot load model " + path + ": " + e.what()};
  }
}

}  // namespace visearch
