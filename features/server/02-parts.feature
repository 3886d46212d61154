Feature: Storing parts only when they are exactly right
  Box guide "Upload Part" (https://developer.box.com/guides/uploads/chunked/upload-part/):
  - Part Size: every part is exactly part_size bytes; only the last may be smaller.
  - Content Range: "bytes <lower>-<higher>/<total>", the lower bound a multiple of part_size.
  - Get SHA Digest: each part carries "Digest: sha=<base64 SHA-1 of the part>".
  - Range Overlap: a part overlapping one already stored is refused with range_overlaps_existing_part.
  - Response: a stored part is answered with its part_id, offset, size and SHA-1.
  A refusal counts only if nothing was stored: after each, the kit lists the session's parts. Every part
  answer the kit sees, in any scenario, is judged against the bytes it sent (S-PART-OK).

  @S-PART-OK @MUST @server
  Scenario: Every correct part is stored and answered with its record, at every position and file size
    # The last part first: parts stored out of order, each listed after it is stored. A single part is probed where the
    # server opens a session for it.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | position  | first / middle / last / only |
      | file      | exact multiple / one byte over / one byte under / half a part over / over 20 MB / a single part |
    Then every part was answered as its case expects

  @S-PART-SIZE-REJECT @MUST @server
  Scenario: A part that is not part_size bytes is refused, unless it is the last and ends at the file's end
    # After each refusal the kit lists the session's parts: a part refused but stored breaks the rule too.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | way       | a byte short / a byte long |
      | position  | first / middle / last |
      | file      | half a part over / exact multiple |
    Then every case was refused with a 4xx, and nothing refused was stored

  @S-RANGE-ALIGN-REJECT @MUST @server
  Scenario: A part that does not start at a multiple of part_size is refused, the last part included
    When every case of the rule's probe space is sent:
      | dimension | values |
      | way       | a byte late / a byte early |
      | position  | first / middle / last |
      | file      | half a part over / exact multiple |
    Then every case was refused with a 4xx, and nothing refused was stored

  @S-RANGE-MALFORMED-REJECT @MUST @server
  Scenario: A part whose Content-Range is missing, malformed, past the end, or unlike its body is refused, never with a server error
    When every case of the rule's probe space is sent:
      | dimension | values |
      | way       | no Content-Range / no "bytes " unit / not numbers / its end before its start / a total other than the file size / past the end of the file / a body a byte shorter than its range / a body a byte longer than its range |
      | position  | first / middle / last |
      | file      | half a part over / exact multiple |
    Then every case was refused with a 4xx, and nothing refused was stored

  @S-DIGEST-REJECT @MUST @server
  Scenario: A part whose Digest is missing, malformed or wrong is refused
    When every case of the rule's probe space is sent:
      | dimension | values |
      | way       | no Digest / a malformed Digest (hex, not base64) / the Digest of other bytes |
      | position  | first / middle / last |
      | file      | half a part over / exact multiple |
    Then every case was refused with a 4xx, and nothing refused was stored

  @S-OVERLAP-REJECT @MUST @server
  Scenario: A part sent again into its stored range is refused as an overlap, and the stored part stays
    When every case of the rule's probe space is sent:
      | dimension | values |
      | position  | first / middle / last |
      | bytes     | the same bytes / other bytes |
    Then every case was answered 416 range_overlaps_existing_part, and the session's parts are as they were

  @S-OVERLAP-REJECT @MUST @server
  Scenario: Other bytes sent into a stored part's range are refused as an overlap, and neither the part nor the file changes
    Given an upload session for a file of at least 3 parts
    # A server that answers 416 but keeps the new bytes corrupts the file silently: the listing, and then
    # the committed file (its content where the server serves it, else its sha1) must hold the bytes first sent.
    And part 1 was stored
    And the session's parts were noted
    When part 1 is sent again with other bytes
    Then the server answers 416 range_overlaps_existing_part
    And the session's parts are as noted
    And once the other parts are stored, the committed file holds the bytes first sent
