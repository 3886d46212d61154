Feature: Authenticating every call, and answering errors in Box's shape
  Box API: every call carries "Authorization: Bearer <token>" (https://developer.box.com/reference/put-files-upload-sessions-id/);
  a missing or invalid token is answered 401, and the call does nothing. Box guide "Common errors"
  (https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/): errors come back as
  a ClientError JSON object with type "error", status, code, message and request_id. Every error answer
  the kit sees, in any scenario, is judged for its shape (S-ERROR-SHAPE).

  @S-AUTH @MUST @server
  Scenario Outline: Opening a session <how> is refused with 401
    When a session is opened for a 21000000-byte file <how>
    Then the server answers 401

    Examples:
      | how                |
      | without a token    |
      | with a wrong token |

  @S-AUTH @MUST @server
  Scenario Outline: <call> <how> is refused with 401 and changes nothing
    Given an upload session for a file of at least 3 parts
    And part 1 was stored
    And the session's parts and status were noted
    When <request> <how>
    Then the server answers 401
    And the session's parts and status are as noted

    Examples:
      | call                    | request                         | how                |
      | Uploading a part        | part 2 is sent                  | without a token    |
      | Uploading a part        | part 2 is sent                  | with a wrong token |
      | Listing the parts       | the session's parts are listed  | without a token    |
      | Listing the parts       | the session's parts are listed  | with a wrong token |
      | Reading the status      | the session's status is asked   | without a token    |
      | Reading the status      | the session's status is asked   | with a wrong token |
      | Aborting the session    | the session is aborted          | without a token    |
      | Aborting the session    | the session is aborted          | with a wrong token |

  @S-AUTH @MUST @server
  Scenario: A commit without a token, or with a wrong one, is refused with 401, changes nothing and creates no file
    Given an upload session for a file of at least 3 parts
    And every part was stored
    And the session's parts and status were noted
    When the session is committed with every part and the file's Digest without a token
    Then the server answers 401
    And the session's parts and status are as noted
    When the session is committed with every part and the file's Digest with a wrong token
    Then the server answers 401
    And the session's parts and status are as noted
    And committing again as a correct client does creates the file, so none was created before

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
