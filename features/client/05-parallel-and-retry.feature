Feature: Uploading parts in parallel, in order, and retrying failures first
  Box guide "Upload Part › Parallel uploads" (https://developer.box.com/guides/uploads/chunked/upload-part/#parallel-uploads):
  parts may go in parallel but in byte order as far as possible, lower offsets first; the recommended
  approach is 3 to 5 parts at a time from a queue ordered by offset; a failed part is retried before
  later parts are uploaded.
  The server answers slowly in these scenarios so that a parallel client really has parts in flight
  together, and each fault is answered sooner than the parts around it, so the retry's place in the
  order is unambiguous.
  What the server can see is when each request arrives, and parts a client starts together on separate
  connections arrive in any order, some ms apart, more on a loaded machine (240 ms was seen). So order
  is judged on the first attempt of each range: a lower part that arrives more than 300 ms after a
  higher one is out of order; closer arrivals count as simultaneous. Where order is judged, the server
  answers after 600 ms, so a part the client started a round later arrives 600 ms later.
  Likewise a failure answered soon after parts arrived may overtake parts the client had already
  started, and a part arriving just after a failure may have been started on another part's answer the
  client read first: the retry's place is judged on failures answered at least 150 ms after the last
  first attempt before them, and a first attempt jumps the retry only if it arrives more than 150 ms
  after the failure and before the retry. There the fault comes at 300 ms, midway between the client's
  first parts arriving and the server's other answers at 600 ms.
  Every client run is judged on order and the parallelism ceiling, and on retries wherever a part
  failed; the parallelism floor wherever the server delays every part by 300 ms or more and injects no
  failure (a time-weighted mean of 2.5 in flight, since refilling a slot takes a round trip).
  A 429 asks for 6 seconds, longer than the 1 to 5 seconds SDKs back off by on their own, so only a client
  that reads the header (retry-after, in lower case as Box sends it) waits long enough; the kit runs
  these waiting runs beside the other scenarios.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-ORDER @SHOULD @client
  Scenario: Parts start in increasing offset order
    Given a file of 12 parts
    And the server answers every part after 600 ms
    When the client uploads the file
    Then no part's first attempt arrived more than 300 ms after the first attempt of a part with a higher offset

  @C-PARALLEL-MAX @SHOULD @client
  Scenario: No more than 5 parts are in flight
    Given a file of 12 parts
    And the server answers every part after 600 ms
    When the client uploads the file
    Then at most 5 part uploads were in flight at any moment

  @C-PARALLEL-MIN @SHOULD @client
  Scenario: At least 3 parts are in flight while 3 or more remain
    Given a file of 12 parts
    And the server answers every part after 600 ms
    When the client uploads the file
    Then at least 2.5 part uploads were in flight, on average, while 3 or more parts remained

  @C-RETRY @SHOULD @client
  Scenario: A part answered 503 is retried and the upload completes
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 50 ms
    When the client uploads the file
    Then every failed part was retried, after Retry-After where given, and the upload completed

  @C-RETRY @SHOULD @client
  Scenario: A part answered 429 is retried after Retry-After and the upload completes
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 429 and Retry-After 6 after 50 ms
    When the client uploads the file
    Then every failed part was retried, after Retry-After where given, and the upload completed

  @C-RETRY @SHOULD @client
  Scenario: A part whose connection dropped is retried and the upload completes
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server drops the connection halfway through part 2's first attempt
    When the client uploads the file
    Then every failed part was retried, after Retry-After where given, and the upload completed

  @C-RETRY-FIRST @SHOULD @client
  Scenario: A failed part is retried before any new part starts
    Given a file of 6 parts
    And the server answers every part after 600 ms
    And the server answers part 2's first attempt with 503 after 300 ms
    When the client uploads the file
    Then no part's first attempt arrived more than 150 ms after another part's failure and before its retry

  @C-RETRY-FIRST @SHOULD @client
  Scenario: While waiting out Retry-After, no new part starts
    Given a file of 6 parts
    And the server answers every part after 600 ms
    And the server answers part 2's first attempt with 429 and Retry-After 6 after 300 ms
    When the client uploads the file
    Then no part's first attempt arrived more than 150 ms after another part's failure and before its retry
