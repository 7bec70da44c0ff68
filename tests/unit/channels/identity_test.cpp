// Tests for channels/identity: phone and e-mail normalisation into identities.
#include <catch2/catch.hpp>

#include "channels/identity.hpp"

using namespace switchboard;
using namespace switchboard::channels;

TEST_CASE("identity: Polish phone numbers in common spellings become E.164", "[channels][identity]") {
  CHECK(normalize_phone("600 100 200") == "+48600100200");
  CHECK(normalize_phone("+48 600-100-200") == "+48600100200");
  CHECK(normalize_phone("0048600100200") == "+48600100200");
  CHECK(normalize_phone("(+48) 600.100.200") == "+48600100200");
  CHECK(normalize_phone("+44 20 7946 0958") == "+442079460958");
}

TEST_CASE("identity: text that is not a valid phone number is rejected", "[channels][identity]") {
  CHECK_FALSE(normalize_phone("jan@example.pl"));
  CHECK_FALSE(normalize_phone("12"));
  CHECK_FALSE(normalize_phone("600 100 20"));   // eight digits: not a Polish number
  CHECK_FALSE(normalize_phone("1-800-FLOWERS"));  // letters are never a customer's phone here
  CHECK_FALSE(normalize_phone(""));
}

TEST_CASE("identity: e-mail addresses are lower-cased and checked for shape", "[channels][identity]") {
  CHECK(normalize_email("Jan.Kowalski@Example.PL") == "jan.kowalski@example.pl");
  CHECK_FALSE(normalize_email("jan@"));
  CHECK_FALSE(normalize_email("@example.pl"));
  CHECK_FALSE(normalize_email("jan@localhost"));
  CHECK_FALSE(normalize_email("jan kowalski@example.pl"));
  CHECK_FALSE(normalize_email("a@b@example.pl"));
}

TEST_CASE("identity: an address becomes an email, phone or api identity", "[channels][identity]") {
  CHECK(identity_for_address("Jan@Example.pl", "shop") == Identity{IdentityKind::email, "jan@example.pl"});
  CHECK(identity_for_address("+48 600 100 200", "shop") == Identity{IdentityKind::phone, "+48600100200"});
  CHECK(identity_for_address("customer-4711", "shop") == Identity{IdentityKind::api, "shop:customer-4711"});
}
