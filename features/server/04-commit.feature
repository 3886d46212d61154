Feature: Committing the session into a file
  Box guide "Commit Upload Session" (https://developer.box.com/guides/uploads/chunked/commit-session/):
  the commit lists the part records and carries the Digest of the whole file; the server checks the
  file's integrity against that digest, and answers 201 with the file, or 202 with Retry-After while it
  is still processing parts. The kit commits the parts it sent, with the part_id each was answered with,
  and judges every commit it makes against the file it uploaded.

  @S-COMMIT-OK @MUST @server
  Scenario: A complete upload is committed into a file of the right size and content, whatever the file size
    When every case of the rule's probe space is sent:
      | dimension | values |
      | file      | exact multiple / one byte over / one byte under / half a part over / over 20 MB / a single part |
    Then every commit was answered 201, after any 202s, with the file entry, and the file's content, where the server serves it, is the bytes uploaded

  @S-COMMIT-DIGEST-REJECT @MUST @server
  Scenario: A commit whose Digest is missing, malformed or wrong is refused, and creates no file
    When every case of the rule's probe space is sent:
      | dimension | values |
      | digest    | missing / of other bytes / malformed / hex, not base64 / of the file without its last byte |
    Then every case was refused with a 4xx, and a correct commit afterwards created the file

  @S-COMMIT-INCOMPLETE-REJECT @MUST @server
  Scenario: A commit whose list does not cover the file is refused, even when every part was stored, and creates no file
    # Every part is stored and the Digest is the whole file's: only the list can make the commit wrong.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | part      | left out / replaced by its neighbour / with another part_id / with another size / from another session |
      | position  | first / middle / last |
    Then every case was refused with a 4xx, and a correct commit afterwards created the file

  @S-COMMIT-INCOMPLETE-REJECT @MUST @server
  Scenario: A commit of parts that do not cover the file is refused, and creates no file
    # The Digest matches the parts listed, so only the coverage check can refuse this commit.
    Given an upload session for a file of at least 3 parts
    And every part but the last was stored
    When the session is committed with the stored parts and the Digest of their bytes, as if they were the whole file
    Then the server refuses the commit with a 4xx
    And after the last part is stored, committing again creates the file, so none was created before
