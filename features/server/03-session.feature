Feature: Listing parts, reading the session, aborting it
  Box API reference: "List parts" (https://developer.box.com/reference/get-files-upload-sessions-id-parts/)
  pages through the stored parts with offset and limit and says how many there are in total_count;
  "Get upload session" (https://developer.box.com/reference/get-files-upload-sessions-id/) counts the
  stored parts in num_parts_processed (refused parts are not stored); "Remove upload session"
  (https://developer.box.com/reference/delete-files-upload-sessions-id/) answers 204 and the session is
  gone.

  Background:
    Given an upload session for a file of at least 3 parts

  @S-LIST-PARTS @MUST @server
  Scenario: Listing gives exactly the stored parts, page by page
    Given parts 1 and 2 were stored
    Then the parts listed are exactly parts 1 and 2, with total_count 2
    And a page of limit 1 at offset 0 and a page of limit 1 at offset 1 hold one part each, together parts 1 and 2

  @S-LIST-PARTS @MUST @server @large-upload
  Scenario: More parts than one default page are listed page by page, with and without a limit
    # The default page is the limit the server states in its answer; the kit stores one part more.
    Given more parts were stored than one page of the server's default listing holds
    Then paging by offset alone, a default page at a time, lists every stored part once, with total_count
    And one page with a limit of as many parts as were stored lists every stored part

  @S-LIST-PARTS @MUST @server
  Scenario: A new session lists no parts
    Then the parts listed are exactly none, with total_count 0

  @S-STATUS @MUST @server
  Scenario: The session's status counts the stored parts
    Given parts 1 and 2 were stored
    Then the session's status is the upload_session with num_parts_processed 2

  @S-STATUS @MUST @server
  Scenario: The session's status does not count refused parts
    Given parts 1 and 2 were stored
    And part 3 was sent with the Digest of other bytes, and refused
    And part 3 was sent without a Digest, and refused
    And part 1 was sent again with other bytes, and refused
    And part 3 was sent with a wrong token, and refused
    Then the session's status is the upload_session with num_parts_processed 2

  @S-ABORT @MUST @server
  Scenario: An aborted session is gone
    Given part 1 was stored
    When the session is aborted
    Then the server answers 204
    And the session is gone: its status, its parts and a new part are all refused with a 4xx
