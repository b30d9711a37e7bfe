#include <gtest/gtest.h>

#include "dataset/voc.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

const char* kXml = R"(<annotation>
  <folder>VOC2012</folder>
  <filename>x.jpg</filename>
  <size><width>200</width><height>100</height><depth>3</depth></size>
  <object>
    <name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>110.5</xmax><ymax>100</ymax></bndbox>
  </object>
  <object>
    <name>cat</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>
  </object>
</annotation>
)";

TEST(VocParse, ReadsObjectsAndFlags) {
  auto doc = parse_voc_xml(kXml, "x.xml");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->filename, "x.jpg");
  EXPECT_EQ(doc->width, 200);
  ASSERT_EQ(doc->objects.size(), 2U);
  EXPECT_EQ(doc->objects[0].pose, "Left");
  EXPECT_EQ(doc->objects[0].truncated, std::optional<bool>(true));
  EXPECT_EQ(doc->objects[0].difficult, std::optional<bool>(false));
  EXPECT_DOUBLE_EQ(doc->objects[0].box.x2, 110.5);
  EXPECT_EQ(doc->objects[0].line, 5);
  EXPECT_EQ(doc->objects[1].difficult, std::optional<bool>(true));
  EXPECT_FALSE(doc->objects[1].truncated.has_value());
}

TEST(VocParse, InvalidXmlNamesTheLine) {
  auto doc =
      parse_voc_xml("<annotation>\n  <filename>x.jpg</filename>\n  <object>\n</annotation>\n", "bad.xml");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().message.rfind("bad.xml:", 0), 0U) << doc.error().message;
  EXPECT_NE(doc.error().message.find("invalid XML"), std::string::npos);
  auto root = parse_voc_xml("<notvoc/>", "r.xml");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("<annotation>"), std::string::npos);
}

TEST(VocParse, BadObjectsAreErrorsOnTheirLineAndLeftOut) {
  const char* xml = R"(<annotation>
  <size><width>50</width><height>50</height></size>
  <object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>
  <object><name>a</name></object>
  <object><name>b</name><bndbox><xmin>1</xmin><ymin>one</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>
  <object><name>c</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>
  <object><name>d</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>90</xmax><ymax>5</ymax></bndbox></object>
  <object><name>e</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>50</ymax></bndbox></object>
</annotation>)";
  auto doc = parse_voc_xml(xml, "o.xml");
  ASSERT_TRUE(doc) << doc.error().message;
  ASSERT_EQ(doc->objects.size(), 1U);
  EXPECT_EQ(doc->objects[0].name, "e");
  std::vector<int> lines;
  for (const Diagnostic& d : doc->diagnostics) lines.push_back(d.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 5, 6, 7}));
  EXPECT_NE(doc->diagnostics[2].message.find("<ymin> of 'b' is not a number"), std::string::npos);
  EXPECT_NE(doc->diagnostics[3].message.find("negative width"), std::string::npos);
  EXPECT_NE(doc->diagnostics[4].message.find("outside the image"), std::string::npos);
}

TEST(VocFormat, RoundTripsAndEscapes) {
  VocDocument doc;
  doc.filename = "a&b.jpg";
  doc.width = 10;
  doc.height = 10;
  VocObject o;
  o.name = "fish <&> chips";
  o.difficult = true;
  o.box = PixelBox{1.4, 2, 8.6, 9};
  doc.objects.push_back(o);
  const std::string xml = format_voc_xml(doc);
  auto back = parse_voc_xml(xml, "rt.xml");
  ASSERT_TRUE(back) << back.error().message << "\n" << xml;
  EXPECT_EQ(back->filename, "a&b.jpg");
  ASSERT_EQ(back->objects.size(), 1U);
  EXPECT_EQ(back->objects[0].name, "fish <&> chips");
  EXPECT_EQ(back->objects[0].difficult, std::optional<bool>(true));
  EXPECT_DOUBLE_EQ(back->objects[0].box.x1, 1.0);  // whole pixels
  EXPECT_DOUBLE_EQ(back->objects[0].box.x2, 9.0);
}

TEST(VocDataset, DevkitLayoutWithSplitsAndClassOrder) {
  TempDir dir;
  write_text(dir.path() / "Annotations/x.xml", kXml);
  write_text(dir.path() / "Annotations/broken.xml", "<annotation><object>");
  write_jpeg(dir.path() / "JPEGImages/x.jpg", 200, 100, 1);
  write_jpeg(dir.path() / "JPEGImages/extra.jpg", 30, 30, 2);
  write_text(dir.path() / "ImageSets/Main/train.txt", "x\n");
  write_text(dir.path() / "ImageSets/Main/dog_train.txt", "x 1\n");
  write_text(dir.path() / "classes.txt", "dog\ncat\n");
  auto ds = load_dataset(dir.str());
  ASSERT_TRUE(ds) << ds.error().message;
  EXPECT_EQ(ds->format, DatasetFormat::kVoc);
  EXPECT_EQ(ds->classes, (std::vector<std::string>{"dog", "cat"}));
  ASSERT_EQ(ds->images.size(), 3U);  // broken.xml, x.xml, extra.jpg (unlabelled)
  EXPECT_TRUE(ds->images[0].has_errors);
  EXPECT_EQ(ds->images[1].split, "train");
  EXPECT_EQ(ds->images[1].annotations[1].class_id, 1);
  EXPECT_FALSE(ds->images[2].labelled);
  ASSERT_EQ(count_errors(ds->diagnostics), 1U);
  EXPECT_NE(ds->diagnostics[0].file.find("broken.xml"), std::string::npos);
  EXPECT_EQ(ds->diagnostics[0].line, 1);
}

}  // namespace
}  // namespace visearch::dataset
