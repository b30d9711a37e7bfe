// Which product attributes `catalog adapt` learns with the classifier (search/adapt/catalog_adapt.h):
// categorical ones, declared by enough products per value, covering enough of the catalog, and not a
// repeat of the category; named keys skip the shape rules but not the per-value count.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace visearch::search
