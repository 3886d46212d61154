Feature: Authenticating every call, and answering errors in Box's shape
  Box API: every call carries "Authorization: Bearer <token>" (https://developer.box.com/reference/put-files-upload-sessions-id/);
  a missing or invalid token is answered 401. Box guide "Common errors"
  (https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/): errors come back as
  a ClientError JSON object with type "error", status, code, message and request_id.

  @S-AUTH @MUST @server
  Scenario Outline: Opening a session <how> is refused with 401
    When a session is opened for a 21000000-byte file <how>
    Then the server answers 401

    Examples:
      | how               |
      | without a token   |
      | with a wrong token |

  @S-AUTH @MUST @server
  Scenario: A part sent with a wrong token is refused with 401 and not stored
    Given an upload session for a file of at least 3 parts
    When part 1 is sent with a wrong token
    Then the server answers 401
    And no part is stored in the session

  @S-ERROR-SHAPE @SHOULD @server
  Scenario Outline: Errors are Box's ClientError JSON (<request>)
    Given an upload session for a file of at least 3 parts
    When <request>
    Then the error answer is Box's ClientError JSON: type "error", the HTTP status, a code, a message and a request_id

    Examples:
      | request                                     |
      | part 1 is sent without a Digest             |
      | part 1 is sent without a Content-Range      |
      | part 1 is sent with a wrong token           |
      | the status of an unknown session is asked   |
