Feature: Authenticating every call, and answering errors in Box's shape
  Box API: every call carries "Authorization: Bearer <token>" (https://developer.box.com/reference/put-files-upload-sessions-id/);
  a missing or invalid token is answered 401, and the call does nothing. Box guide "Common errors"
  (https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/): errors come back as
  a ClientError JSON object with type "error", status, code, message and request_id. Every error answer
  the kit sees, in any scenario, is judged for its shape (S-ERROR-SHAPE).

  @S-AUTH @MUST @server
  Scenario: Every endpoint refuses a missing, wrong or malformed token with 401, and the call changes nothing
    When every case of the rule's probe space is sent:
      | dimension | values |
      | endpoint  | create / part / list / status / commit / abort |
      | token     | missing / wrong / without the Bearer scheme / another scheme / an empty Bearer |
    Then every case was answered 401, the session's parts and status were as before, and a correct commit afterwards created the file

  @S-ERROR-SHAPE @SHOULD @server
  Scenario: Errors are Box's ClientError JSON, on every endpoint
    When every case of the rule's probe space is sent:
      | dimension       | values |
      | unknown session | status / list / part / commit / abort |
    Then every error answer seen in the run is Box's ClientError JSON: type "error", the HTTP status, a code, a message and a request_id
