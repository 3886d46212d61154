Feature: Opening the upload session and authenticating every call
  The client opens a session for the file, then follows the URLs the session hands out.
  Sources: Box guide "Create Upload Session" (https://developer.box.com/guides/uploads/chunked/create-session/)
  and the API reference's authentication section.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-CREATE @MUST @client
  Scenario: The session is opened with the destination, the name and the exact size
    # Create Upload Session: the body names the folder, the file name and the file's size in bytes.
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then the client opened the session with POST /files/upload_sessions, naming the folder, the file name and the file's exact size

  @C-AUTH @MUST @client
  Scenario: Every call carries the bearer token
    # Every Box API call carries "Authorization: Bearer <token>"; the scheme name is case-insensitive
    # (RFC 9110 §11.1), so "bearer" and "BEARER" are as good. Every request of every run is judged.
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every request carried "Authorization: Bearer" and the token it was given

  @C-AUTH @MUST @client
  Scenario: Retried calls carry the bearer token too
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 50 ms
    When the client uploads the file
    Then every request carried "Authorization: Bearer" and the token it was given
