// The catalog adaptation's trainer (train/embedding_adapter.h) on synthetic features whose classes the
// raw cosine cannot tell apart (a strong nuisance signal shared across classes) but a projection can;
// seeded determinism; bad inputs; the category classifier on the same features; and the crop augmentation
// at image edges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "train/embedding_adapter.h"

namespace visearch::train {
namespace {

constexpr int kDim = 32;
constexpr int kClasses = 3;

struct Synthetic {
  std::vector<float> features;  // n x kDim, unit rows
  std::vector<int> labels;
};

// Class signal on axes 0..2 (weak), nuisance "style" on two of axes 3..31 (strong, independent of the class),
// noise elsewhere.
Synthetic make(int per_class, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.F, 0.1F);
  std::uniform_int_distribution<int> style(3, kDim - 1);
  Synthetic s;
  for (int c = 0; c < kClasses; ++c) {
    for (int i = 0; i < per_class; ++i) {
      std::vector<float> v(kDim);
      for (float& x : v) x = noise(rng);
      v[static_cast<std::size_t>(c)] += 0.35F;
      v[static_cast<std::size_t>(style(rng))] += 1.2F;
      v[static_cast<std::size_t>(style(rng))] += 0.8F;
      float norm = 0;
      for (float x : v) norm += x * x;
      for (float& x : v) x /= std::sqrt(norm);
      s.features.insert(s.features.end(), v.begin(), v.end());
      s.labels.push_back(c);
    }
  }
  return s;
}

std::vector<float> project(const AdapterWeights& w, const float* x) {
  std::vector<float> z(static_cast<std::size_t>(w.out_dim));
  double norm = 0;
  for (int r = 0; r < w.out_dim; ++r) {
    double acc = w.bias[static_cast<std::size_t>(r)];
    for (int i = 0; i < w.in_dim; ++i)
      acc += static_cast<double>(w.weight[static_cast<std::size_t>(r * w.in_dim + i)]) *
             static_cast<double>(x[i]);
    z[static_cast<std::size_t>(r)] = static_cast<float>(acc);
    norm += acc * acc;
  }
  for (float& v : z) v = static_cast<float>(static_cast<double>(v) / std::sqrt(norm));
  return z;
}

// Precision@5 of "same class" for each query among the gallery rows, by cosine.
double precision_at_5(const std::vector<std::vector<float>>& gallery, const std::vector<int>& gl,
                      const std::vector<std::vector<float>>& queries, const std::vector<int>& ql) {
  double sum = 0;
  for (std::size_t q = 0; q < queries.size(); ++q) {
    std::vector<std::pair<float, int>> s;
    for (std::size_t g = 0; g < gallery.size(); ++g) {
      float d = 0;
      for (std::size_t i = 0; i < queries[q].size(); ++i) d += queries[q][i] * gallery[g][i];
      s.emplace_back(d, gl[g]);
    }
    std::partial_sort(s.begin(), s.begin() + 5, s.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (int i = 0; i < 5; ++i) sum += s[static_cast<std::size_t>(i)].second == ql[q] ? 0.2 : 0.0;
  }
  return sum / static_cast<double>(queries.size());
}

std::vector<std::vector<float>> rows(const Synthetic& s, const AdapterWeights* w) {
  std::vector<std::vector<float>> out;
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    const float* x = s.features.data() + i * kDim;
    out.push_back(w != nullptr ? project(*w, x) : std::vector<float>(x, x + kDim));
  }
  return out;
}

TEST(EmbeddingAdapter, LearnsWhatTheRawCosineMisses) {
  const Synthetic train = make(60, 1);
  const Synthetic held = make(20, 2);  // other points: the gain is not memorisation
  AdapterTrainOptions options;
  options.out_dim = 8;
  options.epochs = 30;
  options.batch = 32;
  auto w = train_adapter(train.features, kDim, train.labels, kClasses, options);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->weight.size(), static_cast<std::size_t>(8 * kDim));
  const double raw = precision_at_5(rows(train, nullptr), train.labels, rows(held, nullptr), held.labels);
  const double adapted = precision_at_5(rows(train, &*w), train.labels, rows(held, &*w), held.labels);
  std::printf("precision@5 raw %.3f adapted %.3f\n", raw, adapted);
  EXPECT_LT(raw, 0.6);
  EXPECT_GT(adapted, 0.85);
  EXPECT_GT(adapted - raw, 0.3);
  EXPECT_GT(w->train_accuracy, 0.9);
}

TEST(EmbeddingAdapter, IsDeterministicForASeed) {
  const Synthetic train = make(20, 3);
  AdapterTrainOptions options;
  options.out_dim = 4;
  options.epochs = 5;
  options.seed = 9;
  auto a = train_adapter(train.features, kDim, train.labels, kClasses, options);
  auto b = train_adapter(train.features, kDim, train.labels, kClasses, options);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->weight, b->weight);
  EXPECT_EQ(a->bias, b->bias);
  options.seed = 10;
  auto c = train_adapter(train.features, kDim, train.labels, kClasses, options);
  ASSERT_TRUE(c);
  EXPECT_NE(a->weight, c->weight);
}

TEST(EmbeddingAdapter, RefusesInconsistentInputs) {
  const Synthetic train = make(5, 4);
  EXPECT_FALSE(train_adapter(train.features, kDim, train.labels, 1, {}));  // one class
  std::vector<int> bad = train.labels;
  bad[0] = kClasses;
  EXPECT_FALSE(train_adapter(train.features, kDim, bad, kClasses, {}));
  std::vector<float> short_features(train.features.begin(), train.features.end() - 1);
  auto r = train_adapter(short_features, kDim, train.labels, kClasses, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// Class c's logit for the row x: W x + b.
std::vector<double> logits(const AdapterWeights& w, const float* x) {
  std::vector<double> l(static_cast<std::size_t>(w.out_dim));
  for (int r = 0; r < w.out_dim; ++r) {
    double acc = w.bias[static_cast<std::size_t>(r)];
    for (int i = 0; i < w.in_dim; ++i)
      acc += static_cast<double>(w.weight[static_cast<std::size_t>(r * w.in_dim + i)]) *
             static_cast<double>(x[i]);
    l[static_cast<std::size_t>(r)] = acc;
  }
  return l;
}

double accuracy(const AdapterWeights& w, const Synthetic& s) {
  int right = 0;
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    const std::vector<double> l = logits(w, s.features.data() + i * kDim);
    right += std::max_element(l.begin(), l.end()) - l.begin() == s.labels[i] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(s.labels.size());
}

double squared_norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  return sum;
}

TEST(CategoryClassifier, TellsHeldOutPointsCategoriesApart) {
  const Synthetic train = make(60, 1);
  const Synthetic held = make(20, 2);
  auto w = train_classifier(train.features, kDim, train.labels, kClasses, {});
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->out_dim, kClasses);
  ASSERT_EQ(w->weight.size(), static_cast<std::size_t>(kClasses * kDim));
  ASSERT_EQ(w->bias.size(), static_cast<std::size_t>(kClasses));
  // The raw cosine's nearest neighbours mostly share the nuisance style, not the class (see the test above).
  EXPECT_LT(precision_at_5(rows(train, nullptr), train.labels, rows(held, nullptr), held.labels), 0.6);
  const double held_accuracy = accuracy(*w, held);
  std::printf("held-out accuracy %.3f, train %.3f\n", held_accuracy, w->train_accuracy);
  EXPECT_GT(held_accuracy, 0.9);
  EXPECT_GT(w->train_accuracy, 0.9);
  // Each category's direction is its one-hot vector.
  for (int c = 0; c < kClasses; ++c)
    for (int r = 0; r < kClasses; ++r)
      EXPECT_EQ(w->prototypes[static_cast<std::size_t>(c * kClasses + r)], c == r ? 1.F : 0.F);
}

TEST(CategoryClassifier, IsTheSameEveryTimeAndShrinksWithItsWeightDecay) {
  const Synthetic train = make(30, 3);
  ClassifierTrainOptions options;
  options.weight_decay = 1e-3;
  auto a = train_classifier(train.features, kDim, train.labels, kClasses, options);
  auto b = train_classifier(train.features, kDim, train.labels, kClasses, options);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->weight, b->weight);
  EXPECT_EQ(a->bias, b->bias);
  options.weight_decay = 1e-1;
  auto strong = train_classifier(train.features, kDim, train.labels, kClasses, options);
  ASSERT_TRUE(strong);
  EXPECT_LT(squared_norm(strong->weight), 0.5 * squared_norm(a->weight));
  EXPECT_GT(strong->final_loss, a->final_loss);
}

TEST(CategoryClassifier, RefusesInconsistentInputs) {
  const Synthetic train = make(5, 4);
  EXPECT_FALSE(train_classifier(train.features, kDim, train.labels, 1, {}));
  std::vector<int> bad = train.labels;
  bad[0] = -1;
  EXPECT_FALSE(train_classifier(train.features, kDim, bad, kClasses, {}));
  ClassifierTrainOptions options;
  options.weight_decay = -1;
  auto r = train_classifier(train.features, kDim, train.labels, kClasses, options);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(EmbeddingAdapter, CropViewsStayInsideTheImage) {
  Image image = Image::allocate(40, 30);
  std::mt19937 rng(5);
  const CropAugmentOptions options;
  for (const ImageBox& box :
       {ImageBox{0, 0, 3, 3}, ImageBox{37, 27, 40, 30}, ImageBox{5, 5, 35, 25}, ImageBox{-10, -10, 60, 50}}) {
    for (int i = 0; i < 50; ++i) {
      const Image crop = augment_crop(image, box, options, rng);
      EXPECT_GE(crop.width, 2);
      EXPECT_GE(crop.height, 2);
      EXPECT_LE(crop.width, 40);
      EXPECT_LE(crop.height, 30);
      EXPECT_EQ(crop.pixels.size(), static_cast<std::size_t>(crop.width * crop.height * 3));
    }
  }
}

}  // namespace
}  // namespace visearch::train
