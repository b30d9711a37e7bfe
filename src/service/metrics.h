// Prometheus metrics (text exposition format 0.0.4), written by hand because
// no Prometheus client library is packaged for Debian 12.
//
//   Metrics m;
//   m.requests.inc({"/v1/detect", "200"});
//   m.latency_total.observe(0.031);
//   std::string text = m.render();
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace visearch {

class LabelledCounter {
 public:
  LabelledCounter(std::string name, std::string help, std::vector<std::string> label_names);
  void inc(const std::vector<std::string>& label_values, double by = 1.0);
  // For a labelled gauge (one value per label set, replaced, or dropped when what it measured is gone).
  void set(const std::vector<std::string>& label_values, double value);
  void erase(const std::vector<std::string>& label_values);
  [[nodiscard]] double value(const std::vector<std::string>& label_values) const;
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, double> values_;
};

class Histogram {
 public:
  Histogram(std::string name, std::string help, std::vector<double> upper_bounds);
  void observe(double value);
  void render(std::string& out) const;
  [[nodiscard]] std::uint64_t count() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> buckets_;  // non-cumulative, one per bound + the +Inf bucket
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// A gauge whose value is read when rendered (queue depth, in-flight requests).
struct CallbackGauge {
  std::string name;
  std::string help;
  std::function<double()> read;
};

class Metrics {
 public:
  Metrics();

  LabelledCounter requests;            // by route, status
  LabelledCounter rejected;            // by reason
  LabelledCounter model_load_seconds;  // by model: its last load's time (a gauge; dropped on unload)
  LabelledCounter inference_runs;      // by mode: "solo" (all cores, pool idle) or "shared" (one worker)
  Histogram latency_decode;
  Histogram latency_queue_wait;
  Histogram latency_inference;
  Histogram latency_total;
  std::atomic<std::int64_t> in_flight{0};

  void add_gauge(CallbackGauge gauge);
  [[nodiscard]] std::string render() const;

 private:
  mutable std::mutex gauges_mutex_;
  std::vector<CallbackGauge> gauges_;
};

// Escapes a label value for the exposition format.
std::string escape_label_value(const std::string& value);

}  // namespace visearch
