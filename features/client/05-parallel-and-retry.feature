Feature: Uploading parts in parallel, in order, and retrying failures first
  Box guide "Upload Part › Parallel uploads" (https://developer.box.com/guides/uploads/chunked/upload-part/#parallel-uploads):
  parts may go in parallel but in byte order as far as possible, lower offsets first; the recommended
  approach is 3 to 5 parts at a time from a queue ordered by offset; a failed part is retried before
  later parts are uploaded.
  The server answers slowly in these scenarios so that a parallel client really has parts in flight
  together, and each fault is answered sooner than the parts around it, so the retry's place in the
  order is unambiguous. Where the retry's place is what is judged, the fault comes at 200 ms, long after
  every part the client launched at the start has reached the server, since the server can only see a
  request once it arrives.
  Order is judged where the server can see it: by when the first attempt of each range arrives. Parts a
  client starts together reach the server in any order, some ms apart (more on a loaded machine), so
  first attempts closer together than 200 ms count as simultaneous; a lower part that arrives more than
  200 ms after a higher one, as one started a round later does, is out of order. Likewise a failure
  answered within 100 ms of a part's arrival may overtake parts the client started before it saw the
  failure, so the retry's place is judged only after failures answered later than that.
  Every client run is judged on order and the parallelism ceiling, and on retries wherever a part
  failed; the parallelism floor wherever the server delays every part by 300 ms or more and injects no
  failure (a time-weighted mean of 2.5 in flight, since refilling a slot takes a round trip).

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-ORDER @SHOULD @client
  Scenario: Parts start in increasing offset order
    Given a file of 12 parts
    And the server answers every part after 300 ms
    When the client uploads the file
    Then no part's first attempt arrived more than 200 ms after the first attempt of a part with a higher offset

  @C-PARALLEL-MAX @SHOULD @client
  Scenario: No more than 5 parts are in flight
    Given a file of 12 parts
    And the server answers every part after 300 ms
    When the client uploads the file
    Then at most 5 part uploads were in flight at any moment

  @C-PARALLEL-MIN @SHOULD @client
  Scenario: At least 3 parts are in flight while 3 or more remain
    Given a file of 12 parts
    And the server answers every part after 300 ms
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
    And the server answers part 2's first attempt with 429 and Retry-After 1 after 50 ms
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
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 200 ms
    When the client uploads the file
    Then no part's first attempt arrived between another part's failure and its retry

  @C-RETRY-FIRST @SHOULD @client
  Scenario: While waiting out Retry-After, no new part starts
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 429 and Retry-After 1 after 200 ms
    When the client uploads the file
    Then no part's first attempt arrived between another part's failure and its retry
