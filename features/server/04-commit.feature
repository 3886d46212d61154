Feature: Committing the session into a file
  Box guide "Commit Upload Session" (https://developer.box.com/guides/uploads/chunked/commit-session/):
  the commit lists the part records and carries the Digest of the whole file; the server checks the
  file's integrity against that digest, and answers 201 with the file, or 202 with Retry-After while it
  is still processing parts. The kit commits the parts it sent, with the part_id each was answered with,
  and judges every commit it makes against the file it uploaded.

  @S-COMMIT-OK @MUST @server
  Scenario: A complete upload is committed into a file of the right size and content
    Given an upload session for a file of at least 3 parts
    And every part was stored
    When the session is committed with every part and the file's Digest
    Then the commit is answered 201, after any 202s, with a file entry of the file's size and SHA-1
    And the file's content, where the server serves it, is the bytes uploaded

  @S-COMMIT-DIGEST-REJECT @MUST @server
  Scenario Outline: A commit with <what> is refused, and creates no file
    Given an upload session for a file of at least 3 parts
    And every part was stored
    When the session is committed with every part and <digest>
    Then the server refuses the commit with a 4xx
    And committing again as a correct client does creates the file, so none was created before

    Examples:
      | what                                        | digest                     |
      | a Digest that does not match the file       | the Digest of other bytes  |
      | no Digest header                            | no Digest                  |

  @S-COMMIT-INCOMPLETE-REJECT @MUST @server
  Scenario: A commit of parts that do not cover the file is refused, and creates no file
    # The Digest matches the parts listed, so only the coverage check can refuse this commit.
    Given an upload session for a file of at least 3 parts
    And every part but the last was stored
    When the session is committed with the stored parts and the Digest of their bytes, as if they were the whole file
    Then the server refuses the commit with a 4xx
    And after the last part is stored, committing again creates the file, so none was created before
