// Which product attributes `catalog adapt` learns with the classifier (search/adapt/catalog_adapt.h):
// categorical ones, declared by enough products per value, covering enough of the catalog, and not a
// repeat of the category; named keys skip the shape rules but not the per-value count. And which products
// are held out (whole groups, 2 left to learn from in every category).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "search/adapt/catalog_adapt.h"

namespace visearch::search {
namespace {

struct Shop {
  std::vector<Product> products;
  std::vector<int> category;

  void add(int cls, std::map<std::string, std::string> attributes, std::string brand = "") {
    Product p;
    p.id = "p" + std::to_string(products.size());
    p.category = "c" + std::to_string(cls);
    p.attributes = std::move(attributes);
    p.brand = std::move(brand);
    products.push_back(std::move(p));
    category.push_back(cls);
  }
  [[nodiscard]] std::vector<const Product*> listed() const {
    std::vector<const Product*> out;
    for (const Product& p : products) out.push_back(&p);
    return out;
  }
};

AdaptOptions rules() {
  AdaptOptions o;
  o.min_products_per_value = 3;
  o.min_attribute_coverage = 0.5;
  o.max_attribute_values = 4;
  o.max_attributes = 3;
  return o;
}

std::vector<std::string> keys(const std::vector<AttributeChoice>& chosen) {
  std::vector<std::string> out;
  for (const AttributeChoice& c : chosen) out.push_back(c.key);
  return out;
}

// 24 products in 4 categories: "Colour" (3 values across every category), "type" (the category again),
// "sku" (unique per product), "finish" (declared by a third), "size" (6 values: too many), a brand on all.
Shop shop() {
  Shop s;
  const std::vector<std::string> colours = {"Red", "blue ", "green"};
  const std::vector<std::string> sizes = {"xs", "s", "m", "l", "xl", "xxl"};
  for (int i = 0; i < 24; ++i) {
    const int cls = i % 4;
    std::map<std::string, std::string> a = {{"Colour", colours[static_cast<std::size_t>(i) % 3]},
                                            {"type", "kind" + std::to_string(cls)},
                                            {"sku", "sku-" + std::to_string(i)},
                                            {"size", sizes[static_cast<std::size_t>(i) % 6]}};
    if (i % 3 == 0) a["finish"] = i % 2 == 0 ? "matte" : "gloss";
    s.add(cls, a, (i / 4) % 2 == 0 ? "Acme" : "Globex");
  }
  return s;
}

TEST(CatalogAttributes, CategoricalAttributesAreChosenAndTheRestAreNot) {
  const Shop s = shop();
  const std::vector<AttributeChoice> chosen = choose_attributes(s.listed(), s.category, rules());
  // colour and brand; not type (the category), sku (1 product a value), finish (a third), size (6 values).
  EXPECT_EQ(keys(chosen), (std::vector<std::string>{"brand", "colour"}));
  const AttributeChoice& colour = chosen[1];
  EXPECT_EQ(colour.values, (std::vector<std::string>{"blue", "green", "red"}));  // trimmed, lower-case
  EXPECT_EQ(colour.products, 24);
  ASSERT_EQ(colour.value_of_product.size(), 24U);
  EXPECT_EQ(colour.value_of_product[0], 2);  // Red
  EXPECT_EQ(colour.value_of_product[1], 0);  // "blue "
  EXPECT_EQ(chosen[0].values, (std::vector<std::string>{"acme", "globex"}));
}

TEST(CatalogAttributes, RareValuesCountAsUndeclaredAndTheBestCoveredComeFirst) {
  Shop s = shop();
  s.add(0, {{"Colour", "RED"}});    // no brand: colour is declared by 25 products, the brand by 24
  s.add(1, {{"Colour", "Mauve"}});  // one product: below 3, so undeclared
  AdaptOptions o = rules();
  o.max_attributes = 1;
  const std::vector<AttributeChoice> chosen = choose_attributes(s.listed(), s.category, o);
  ASSERT_EQ(keys(chosen), (std::vector<std::string>{"colour"}));
  EXPECT_EQ(chosen[0].values.size(), 3U);
  EXPECT_EQ(chosen[0].products, 25);
  EXPECT_EQ(chosen[0].value_of_product[24], 2);
  EXPECT_EQ(chosen[0].value_of_product.back(), -1);
}

TEST(CatalogAttributes, NamedKeysSkipTheShapeRulesButNotTheValueCount) {
  const Shop s = shop();
  AdaptOptions o = rules();
  o.attribute_keys = {"Size", "type", "sku", "finish"};
  const std::vector<AttributeChoice> chosen = choose_attributes(s.listed(), s.category, o);
  // sku has no value declared by 3 products; finish has 8 products, 4 each.
  EXPECT_EQ(keys(chosen), (std::vector<std::string>{"size", "type", "finish"}));
  o.attribute_keys = {"nothing"};
  EXPECT_TRUE(choose_attributes(s.listed(), s.category, o).empty());
}

// Held-out products: groups go whole, every category keeps 2 products to learn from, the pick does not
// depend on the products' order, and without groups it is the per-product pick.
TEST(CatalogHoldout, GroupsAreHeldOutWholeAndEveryCategoryKeepsTwoToLearnFrom) {
  std::vector<std::string> ids;
  std::vector<int> category;
  std::vector<std::string> groups;
  // 40 products in 4 categories; photos of 10 shoots, each shoot with one product of every category.
  for (int i = 0; i < 40; ++i) {
    ids.push_back("p" + std::to_string(i));
    category.push_back(i % 4);
    groups.push_back("shoot" + std::to_string(i / 4));
  }
  // A small category (2 products) in shoot0, and a category of 3 whose products all share shoot9.
  for (const char* id : {"s1", "s2"}) {
    ids.push_back(id);
    category.push_back(4);
    groups.push_back("shoot0");
  }
  for (const char* id : {"t1", "t2", "t3"}) {
    ids.push_back(id);
    category.push_back(5);
    groups.push_back("shoot9");
  }
  const std::vector<bool> held = choose_heldout(ids, category, groups, 0.2, 7);
  std::map<std::string, std::set<bool>> sides;
  std::map<int, int> training;
  int held_count = 0;
  for (std::size_t p = 0; p < ids.size(); ++p) {
    if (category[p] != 4) sides[groups[p]].insert(held[p]);
    training[category[p]] += held[p] ? 0 : 1;
    held_count += held[p] ? 1 : 0;
  }
  for (const auto& [group, side] : sides) EXPECT_EQ(side.size(), 1U) << group << " is split";
  for (const auto& [cls, n] : training) EXPECT_GE(n, 2) << "category " << cls;
  EXPECT_GE(held_count, 8);            // about a fifth of every category
  EXPECT_FALSE(held[40] || held[41]);  // a category of 2 is never held out
  EXPECT_FALSE(held[42] || held[43] || held[44]) << "holding out shoot9 would leave category 5 nothing";

  // The same products in another order: the same products held out.
  std::vector<std::size_t> order(ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;
  std::vector<std::string> ids2;
  std::vector<int> category2;
  std::vector<std::string> groups2;
  for (std::size_t i : order) {
    ids2.push_back(ids[i]);
    category2.push_back(category[i]);
    groups2.push_back(groups[i]);
  }
  const std::vector<bool> held2 = choose_heldout(ids2, category2, groups2, 0.2, 7);
  for (std::size_t k = 0; k < order.size(); ++k) EXPECT_EQ(held2[k], held[order[k]]) << ids2[k];

  // Without groups: per product, a fifth of each category (rounded), and another seed picks others.
  const std::vector<std::string> none(ids.size());
  const std::vector<bool> alone = choose_heldout(ids, category, none, 0.2, 7);
  std::map<int, int> alone_held;
  for (std::size_t p = 0; p < ids.size(); ++p) alone_held[category[p]] += alone[p] ? 1 : 0;
  for (int cls = 0; cls < 4; ++cls) EXPECT_EQ(alone_held[cls], 2) << cls;
  EXPECT_EQ(alone_held[4], 0);
  EXPECT_EQ(alone_held[5], 1);
  EXPECT_NE(choose_heldout(ids, category, none, 0.2, 8), alone);
  EXPECT_EQ(std::count(alone.begin(), alone.end(), true), 9);
  const std::vector<bool> nothing = choose_heldout(ids, category, none, 0.0, 7);
  EXPECT_TRUE(std::none_of(nothing.begin(), nothing.end(), [](bool b) { return b; }));
}

}  // namespace
}  // namespace visearch::search
