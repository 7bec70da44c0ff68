// Edit distance and "did you mean" suggestions used by the rules diagnostics.
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "routing/rules/suggest.hpp"

using switchboard::routing::did_you_mean;
using switchboard::routing::edit_distance;
using switchboard::routing::nearest;

TEST_CASE("suggest: edit distance counts insertions, deletions and substitutions", "[routing][rules]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("enqeue", "enqueue") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("hgih", "high") == 1);  // a swap of neighbours is one edit
  CHECK(edit_distance("page", "tag") == 2);
}

TEST_CASE("suggest: nearest name within distance 2 (1 for short words) or by prefix", "[routing][rules]") {
  const std::vector<std::string_view> keys = {"reply", "enqueue", "tag", "priority"};
  CHECK(nearest("enqeue", keys) == "enqueue");
  CHECK(nearest("rply", keys) == "reply");
  CHECK(nearest("prio", keys) == "priority");    // prefix
  CHECK(nearest("tags", keys) == "tag");         // distance 1
  CHECK(nearest("tga", keys) == "tag");          // swapped letters
  CHECK(nearest("x", keys) == std::nullopt);     // distance 2 to "tag": too far for a short word
  CHECK(nearest("page", keys) == std::nullopt);  // distance 2 to "tag": too far for 4 letters
  CHECK(nearest("assign", keys) == std::nullopt);
  CHECK(did_you_mean("replay", keys) == " (did you mean 'reply'?)");
  CHECK(did_you_mean("page", keys).empty());
}
