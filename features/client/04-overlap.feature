Feature: Never overlapping parts, and not trusting a part the server refused as an overlap
  Box guide "Upload Part › Range Overlap" (https://developer.box.com/guides/uploads/chunked/upload-part/#range-overlap):
  parts are immutable; a part answered with range_overlaps_existing_part overlapped content already
  uploaded (the application made a mistake cutting the file into parts), and the application must
  assume that this part was not stored.
  Every client run is judged on these rules, not only the scenarios below: a part sent again while an
  earlier copy of the same range is still in flight, or after it was stored, overlaps; a retry of the
  same range after the earlier attempt failed unacknowledged does not.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-NO-OVERLAP @MUST @client
  Scenario: No part covers bytes of another part the client sent
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then no part overlapped another part the client sent, except a retry of the same range after its attempt failed

  @C-NO-OVERLAP @MUST @client
  Scenario: Retries resend only the failed part
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 50 ms
    When the client uploads the file
    Then no part overlapped another part the client sent, except a retry of the same range after its attempt failed

  @C-OVERLAP-NOT-PERSISTED @MUST @client
  Scenario: A part answered range_overlaps_existing_part is treated as not stored
    Given a file of 4 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with range_overlaps_existing_part after 50 ms
    When the client uploads the file
    Then the client never listed the refused part in a commit
