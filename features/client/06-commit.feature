Feature: Committing the session with the kept part records and the whole file's digest
  Box guides "Upload Part › Response" (keep every part record: the commit needs them) and
  "Commit Upload Session" (https://developer.box.com/guides/uploads/chunked/commit-session/): the commit
  lists the parts and carries "Digest: sha=<base64 SHA-1 of the whole file>"; a 202 answer with
  Retry-After means the parts are still being processed, so the client commits again after that many
  seconds. A client reports success only for a file that was really stored.
  Every commit of every client run is judged on these rules, whatever the scenario: a commit sent with a
  hole (for any reason: a part skipped, or one refused as an overlap and left out) fails C-COVERAGE.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-COVERAGE @MUST @client
  Scenario Outline: Every byte is acknowledged exactly once before the commit (<file>)
    Given a file of <file>
    When the client uploads the file
    Then at every commit, every byte of the file had been acknowledged exactly once

    Examples:
      | file               |
      | exactly 4 parts    |
      | 3 parts and 1 byte |

  @C-COMMIT-PARTS @MUST @client
  Scenario: The commit lists every part record as the server returned it
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then the commit listed each acknowledged part once, exactly as the server returned it

  @C-COMMIT-PARTS @MUST @client
  Scenario: The commit lists the record of a retried part as its retry returned it
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 50 ms
    When the client uploads the file
    Then the commit listed each acknowledged part once, exactly as the server returned it

  @C-COMMIT-SORTED @SHOULD @client
  Scenario: The commit lists parts by offset, whatever order they finished in
    Given a file of 12 parts
    And the server answers every part after 600 ms
    When the client uploads the file
    Then the commit listed the parts sorted by offset

  @C-COMMIT-DIGEST @MUST @client
  Scenario: The commit carries the SHA-1 of the whole file
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every commit carried "Digest: sha=<base64 SHA-1 of the whole file>"

  @C-COMMIT-RETRY-AFTER @MUST @client
  Scenario: A 202 commit answer is waited out, then the commit is sent again
    Given a file of 3 parts and 1 byte
    # 6 seconds, longer than an SDK's own backoff: only a client that reads retry-after waits so long.
    And the server answers the first commit with 202 and Retry-After 6
    And the server answers the second commit with 202 and Retry-After 1
    When the client uploads the file
    Then after each 202 the client waited at least Retry-After seconds and committed again

  @C-SUCCESS-HONEST @MUST @client
  Scenario: Success is reported for a stored file
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then the client exited 0 if and only if the commit returned 201 and the stored file equals the source

  @C-SUCCESS-HONEST @MUST @client
  Scenario: Failure is reported when the commit fails
    Given a file of 3 parts and 1 byte
    And the server answers every commit with 410 upload_failed
    When the client uploads the file
    Then the client exited 0 if and only if the commit returned 201 and the stored file equals the source
