Feature: Storing parts only when they are exactly right
  Box guide "Upload Part" (https://developer.box.com/guides/uploads/chunked/upload-part/):
  - Part Size: every part is exactly part_size bytes; only the last may be smaller.
  - Content Range: "bytes <lower>-<higher>/<total>", the lower bound a multiple of part_size.
  - Get SHA Digest: each part carries "Digest: sha=<base64 SHA-1 of the part>".
  - Range Overlap: a part overlapping one already stored is refused with range_overlaps_existing_part.
  - Response: a stored part is answered with its part_id, offset, size and SHA-1.
  A refusal counts only if nothing was stored: after each, the kit lists the session's parts. Every part
  answer the kit sees, in any scenario, is judged against the bytes it sent (S-PART-OK).

  Background:
    Given an upload session for a file of at least 3 parts

  @S-PART-OK @MUST @server
  Scenario: A correct part is stored and answered with its record
    When part 1 is sent as a correct client sends it
    Then the server answers 200 with the part's record: its offset, its size and the hex SHA-1 of its bytes

  @S-PART-OK @MUST @server
  Scenario: The last, shorter part is stored and answered with its record
    When the last part is sent as a correct client sends it
    Then the server answers 200 with the part's record: its offset, its size and the hex SHA-1 of its bytes

  @S-PART-SIZE-REJECT @MUST @server
  Scenario Outline: A part that is not the last and is not part_size bytes is refused (<how>)
    When part 1 is sent <how>
    Then the server refuses it with a 4xx
    And no part is stored in the session

    Examples:
      | how             |
      | one byte short  |
      | one byte long   |

  @S-RANGE-ALIGN-REJECT @MUST @server
  Scenario: A part that does not start at a multiple of part_size is refused
    When part 2 is sent one byte late, still part_size bytes long
    Then the server refuses it with a 4xx
    And no part is stored in the session

  @S-RANGE-MALFORMED-REJECT @MUST @server
  Scenario Outline: A part whose Content-Range is wrong is refused, never with a server error (<how>)
    When part 1 is sent <how>
    Then the server refuses it with a 4xx
    And no part is stored in the session

    Examples:
      | how                                        |
      | without a Content-Range                    |
      | with a Content-Range lacking "bytes "      |
      | with a Content-Range of "bytes x-y/z"      |
      | with a body 1000 bytes shorter than its range |

  @S-RANGE-MALFORMED-REJECT @MUST @server
  Scenario: A part reaching past the end of the file is refused
    When the last part is sent with a range one byte past the end of the file
    Then the server refuses it with a 4xx
    And no part is stored in the session

  @S-DIGEST-REJECT @MUST @server
  Scenario Outline: A part without its right Digest is refused (<how>)
    When part 1 is sent <how>
    Then the server refuses it with a 4xx
    And no part is stored in the session

    Examples:
      | how                                   |
      | without a Digest                      |
      | with the Digest of other bytes        |

  @S-OVERLAP-REJECT @MUST @server
  Scenario: A part sent again into its stored range is refused as an overlap, and the stored part stays
    Given part 1 was stored
    And the session's parts were noted
    When part 1 is sent again as a correct client sends it
    Then the server answers 416 range_overlaps_existing_part
    And the session's parts are as noted

  @S-OVERLAP-REJECT @MUST @server
  Scenario: Other bytes sent into a stored part's range are refused as an overlap, and neither the part nor the file changes
    # A server that answers 416 but keeps the new bytes corrupts the file silently: the listing, and then
    # the committed file (its content where the server serves it, else its sha1) must hold the bytes first sent.
    Given part 1 was stored
    And the session's parts were noted
    When part 1 is sent again with other bytes
    Then the server answers 416 range_overlaps_existing_part
    And the session's parts are as noted
    And once the other parts are stored, the committed file holds the bytes first sent
