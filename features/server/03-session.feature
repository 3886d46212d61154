Feature: Listing parts, reading the session, aborting it
  Box API reference: "List parts" (https://developer.box.com/reference/get-files-upload-sessions-id-parts/)
  pages through the stored parts with offset and limit and says how many there are in total_count;
  "Get upload session" (https://developer.box.com/reference/get-files-upload-sessions-id/) counts the
  stored parts in num_parts_processed (refused parts are not stored); "Remove upload session"
  (https://developer.box.com/reference/delete-files-upload-sessions-id/) answers 204 and the session is
  gone.

  @S-LIST-PARTS @MUST @server
  Scenario: Listing gives exactly the stored parts, whatever order they came in, page by page
    # A page past the end is empty, not an error; every page states total_count.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | stored    | none / in order / out of order / with a hole |
      | page      | the default page / limit 1, every page / limit 2 / a limit past the count / an offset past the end |
    Then every page was answered as its case expects

  @S-LIST-PARTS @MUST @server @large-upload
  Scenario: More parts than one default page are listed page by page, with and without a limit
    # The default page is the limit the server states in its answer; the kit stores one part more.
    Given an upload session for a file of at least 3 parts
    And more parts were stored than one page of the server's default listing holds
    Then paging by offset alone, a default page at a time, lists every stored part once, with total_count
    And one page with a limit of as many parts as were stored lists every stored part

  @S-STATUS @MUST @server
  Scenario: The session's status counts every stored part, the short last one included, and never a refused one
    # A count still below the parts stored is read again for 3 s (a server may be processing parts), then judged.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | after     | the last part stored / the first part stored / a middle part stored / a part refused for its size / a part refused for its Digest / a part refused as an overlap / a part refused for its token |
    Then after every case num_parts_processed counted exactly the parts stored

  @S-ABORT @MUST @server
  Scenario: An aborted session is gone: every later call is refused
    When every case of the rule's probe space is sent:
      | dimension | values |
      | then      | status / list / part / commit / abort |
    Then the abort was answered 204 and every later call was refused with a 4xx
