// base64, quoted-printable, charsets and RFC 2047 encoded-words.
#include <boost/test/unit_test.hpp>

#include "tern/mime/codec.hpp"

using namespace tern::mime;

BOOST_AUTO_TEST_CASE(base64_round_trip_and_tolerance) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string enc = encode_base64(all);
  for (std::size_t pos = 0, n; pos < enc.size(); pos = n + 2) {
    n = enc.find("\r\n", pos);
    if (n == std::string::npos) n = enc.size();
    BOOST_TEST(n - pos <= 76u);
  }
  auto dec = decode_base64(enc);
  BOOST_TEST(dec.clean);
  BOOST_TEST(dec.data == all);
  BOOST_TEST(encode_base64("ab") == "YWI=");
  BOOST_TEST(encode_base64("a") == "YQ==");
  BOOST_TEST(decode_base64("YWJj").data == "abc");
  auto sloppy = decode_base64("YW*Jj\r\nZA");  // junk and missing padding
  BOOST_TEST(sloppy.data == "abcd");
  BOOST_TEST(!sloppy.clean);
}

BOOST_AUTO_TEST_CASE(quoted_printable_decode_is_tolerant) {
  BOOST_TEST(decode_quoted_printable("caf=C3=A9 =\r\nsoft   \r\nnext").data == "caf\xC3\xA9 soft\r\nnext");
  auto bad = decode_quoted_printable("a=ZZb=4");
  BOOST_TEST(bad.data == "a=ZZb=4");
  BOOST_TEST(!bad.clean);
  BOOST_TEST(decode_quoted_printable("x=3d=3D\n").data == "x==\r\n");
}

BOOST_AUTO_TEST_CASE(quoted_printable_encode_lines_and_round_trip) {
  std::string text = std::string(200, 'a') + " \r\n" + "tab\tend\t\r\n=equals \xC3\xA9" + std::string(150, 'z');
  std::string enc = encode_quoted_printable(text);
  std::size_t pos = 0;
  while (pos < enc.size()) {
    std::size_t n = enc.find("\r\n", pos);
    if (n == std::string::npos) n = enc.size();
    std::string_view line(enc.data() + pos, n - pos);
    BOOST_TEST(line.size() <= 76u);
    BOOST_TEST((line.empty() || (line.back() != ' ' && line.back() != '\t')));
    pos = n + 2;
  }
  BOOST_TEST(decode_quoted_printable(enc).data == text);
  std::string bin("\0\r\n\xff", 4);
  BOOST_TEST(decode_quoted_printable(encode_quoted_printable(bin, true)).data == bin);
}

BOOST_AUTO_TEST_CASE(charsets_convert_to_utf8) {
  BOOST_TEST(to_utf8("ISO-8859-1", "M\xFCller").data == "M\xC3\xBCller");
  BOOST_TEST(to_utf8("iso-8859-15", "\xA4").data == "\xE2\x82\xAC");
  BOOST_TEST(to_utf8("windows-1252", "\x80").data == "\xE2\x82\xAC");
  BOOST_TEST(to_utf8("KOI8-R", "\xF0\xD2\xC9\xD7\xC5\xD4").data == "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  BOOST_TEST(to_utf8("Shift_JIS", "\x93\xFA\x96\x7B").data == "\xE6\x97\xA5\xE6\x9C\xAC");
  BOOST_TEST(to_utf8("EUC-JP", "\xC6\xFC\xCB\xDC").data == "\xE6\x97\xA5\xE6\x9C\xAC");
  BOOST_TEST(to_utf8("ISO-2022-JP", "\x1B$BF|K\\\x1B(B").data == "\xE6\x97\xA5\xE6\x9C\xAC");
  BOOST_TEST(to_utf8("gb2312", "\xD6\xD0\xCE\xC4").data == "\xE4\xB8\xAD\xE6\x96\x87");
  BOOST_TEST(to_utf8("GB18030", "\xD6\xD0").data == "\xE4\xB8\xAD");
  BOOST_TEST(to_utf8("Big5", "\xA4\xA4\xA4\xE5").data == "\xE4\xB8\xAD\xE6\x96\x87");
  auto unknown = to_utf8("x-no-such-charset", "abc\xFF");
  BOOST_TEST(!unknown.clean);
  BOOST_TEST(unknown.data == "abc\xC3\xBF");
  auto broken = to_utf8("utf-8", "a\xFF" "b");
  BOOST_TEST(broken.data == "a\xEF\xBF\xBD" "b");
}

BOOST_AUTO_TEST_CASE(encoded_words_decode) {
  BOOST_TEST(decode_encoded_words("=?UTF-8?B?w6TDtsO8?=") == "\xC3\xA4\xC3\xB6\xC3\xBC");
  BOOST_TEST(decode_encoded_words("=?iso-8859-1?q?caf=E9_au_lait?=") == "caf\xC3\xA9 au lait");
  // White space between adjacent words is dropped; between word and text it is kept.
  BOOST_TEST(decode_encoded_words("=?utf-8?q?a?= \r\n =?utf-8?q?b?= c =?utf-8?q?d?=") == "ab c d");
  // A multi-byte character split over two words.
  BOOST_TEST(decode_encoded_words("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=") == "\xE2\x82\xAC");
  BOOST_TEST(decode_encoded_words("=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=") == "\xE6\x97\xA5\xE6\x9C\xAC");
  BOOST_TEST(decode_encoded_words("=?utf-8*en?Q?hi?=") == "hi");
  // Not encoded-words: left alone.
  BOOST_TEST(decode_encoded_words("=?broken a=?") == "=?broken a=?");
  BOOST_TEST(decode_encoded_words("plain =?utf-8?x?abc?=") == "plain =?utf-8?x?abc?=");
  BOOST_TEST(decode_encoded_words("raw \xC3\xA9") == "raw \xC3\xA9");   // RFC 6532
  BOOST_TEST(decode_encoded_words("raw \xE9") == "raw \xC3\xA9");       // Latin-1 fallback
}

BOOST_AUTO_TEST_CASE(encoded_words_encode_round_trip) {
  BOOST_TEST(encode_header_words("plain ascii") == "plain ascii");
  std::string s = "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln " + std::string(100, 'x') + " \xE2\x82\xAC";
  std::string enc = encode_header_words(s);
  BOOST_TEST(enc.find("=?UTF-8?Q?") == 0u);
  std::size_t pos = 0;
  while ((pos = enc.find("=?", pos)) != std::string::npos) {
    std::size_t end = enc.find("?=", pos + 10);
    BOOST_TEST(end + 2 - pos <= 75u);
    pos = end + 2;
  }
  BOOST_TEST(decode_encoded_words(enc) == s);
}

BOOST_AUTO_TEST_CASE(transfer_encoding_dispatch) {
  BOOST_TEST(decode_transfer_encoding("YWJj", "BASE64").data == "abc");
  BOOST_TEST(decode_transfer_encoding("a=3Db", "quoted-printable").data == "a=b");
  BOOST_TEST(decode_transfer_encoding("a=3Db", "8bit").data == "a=3Db");
}
