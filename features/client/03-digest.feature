Feature: Proving each part's bytes with a SHA-1 digest
  Box guide "Upload Part › Get SHA Digest" (https://developer.box.com/guides/uploads/chunked/upload-part/#get-sha-digest):
  each part carries "Digest: sha=" followed by the base64 of the part's binary SHA-1, the output of
  "openssl sha1 -binary <part> | base64". Not hex, and not the digest of anything but that body.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-DIGEST @MUST @client
  Scenario: Every part carries the base64 SHA-1 of its own body
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every part carried "Digest: sha=<base64 SHA-1 of its body>"

  @C-DIGEST @MUST @client
  Scenario: A retried part carries its digest again
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server answers part 2's first attempt with 503 after 50 ms
    When the client uploads the file
    Then every part carried "Digest: sha=<base64 SHA-1 of its body>"

  @C-DIGEST @MUST @client
  Scenario: A part resent after a dropped connection carries its digest again
    Given a file of 6 parts
    And the server answers every part after 300 ms
    And the server drops the connection halfway through part 2's first attempt
    When the client uploads the file
    Then every part carried "Digest: sha=<base64 SHA-1 of its body>"
