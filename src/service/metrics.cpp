#include "service/metrics.h"

#include <cmath>
#include <cstdio>

namespace visearch {
namespace {

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10};
}

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

LabelledCounter::LabelledCounter(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void LabelledCounter::inc(const std::vector<std::string>& label_values, double by) {
  const std::lock_guard lock(mutex_);
  values_[label_values] += by;
}

void LabelledCounter::set(const std::vector<std::string>& label_values, double value) {
  const std::lock_guard lock(mutex_);
  values_[label_values] = value;
}

void LabelledCounter::erase(const std::vector<std::string>& label_values) {
  const std::lock_guard lock(mutex_);
  values_.erase(label_values);
}

double LabelledCounter::value(const std::vector<std::string>& label_values) const {
  const std::lock_guard lock(mutex_);
  auto it = values_.find(label_values);
  return it == values_.end() ? 0.0 : it->second;
}

void LabelledCounter::render(std::string& out) const {
  const std::lock_guard lock(mutex_);
  const bool is_counter = name_.ends_with("_total");
  out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + (is_counter ? " counter\n" : " gauge\n");
  for (const auto& [labels, v] : values_)
    out += name_ + label_set(label_names_, labels) + " " + format_number(v) + "\n";
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      bounds_(std::move(upper_bounds)),
      buckets_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const std::lock_guard lock(mutex_);
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++buckets_[i];
  sum_ += value;
  ++count_;
}

std::uint64_t Histogram::count() const {
  const std::lock_guard lock(mutex_);
  return count_;
}

void Histogram::render(std::string& out) const {
  const std::lock_guard lock(mutex_);
  out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i];
    const std::string le = i < bounds_.size() ? format_number(bounds_[i]) : "+Inf";
    out += name_ + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name_ + "_sum " + format_number(sum_) + "\n" + name_ + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : requests("visearch_http_requests_total", "HTTP requests by route and status.", {"route", "status"}),
      rejected("visearch_rejected_requests_total",
               "Requests refused before inference (queue full, shutting down).", {"reason"}),
      model_load_seconds("visearch_model_load_seconds", "Time taken to load each model.", {"model"}),
      inference_runs("visearch_inference_runs_total",
                     "Inference jobs by session set: solo (all cores, nothing else running) or shared.",
                     {"mode"}),
      latency_decode("visearch_decode_seconds", "Image decoding time.", latency_buckets()),
      latency_queue_wait("visearch_queue_wait_seconds", "Time a request waited for an inference worker.",
                         latency_buckets()),
      latency_inference("visearch_inference_seconds",
                        "Pre-processing, forward pass and post-processing time.", latency_buckets()),
      latency_total("visearch_request_seconds", "Total time to answer an inference request.",
                    latency_buckets()) {}

void Metrics::add_gauge(CallbackGauge gauge) {
  const std::lock_guard lock(gauges_mutex_);
  gauges_.push_back(std::move(gauge));
}

std::string Metrics::render() const {
  std::string out;
  requests.render(out);
  rejected.render(out);
  model_load_seconds.render(out);
  inference_runs.render(out);
  latency_decode.render(out);
  latency_queue_wait.render(out);
  latency_inference.render(out);
  latency_total.render(out);
  out +=
      "# HELP visearch_in_flight_requests Requests being handled now.\n# TYPE visearch_in_flight_requests "
      "gauge\n";
  out += "visearch_in_flight_requests " + std::to_string(in_flight.load()) + "\n";
  const std::lock_guard lock(gauges_mutex_);
  for (const CallbackGauge& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    out += g.name + " " + format_number(g.read()) + "\n";
  }
  return out;
}

}  // namespace visearch
