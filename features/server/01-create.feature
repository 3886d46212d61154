Feature: Opening an upload session
  Box guide "Create Upload Session" (https://developer.box.com/guides/uploads/chunked/create-session/):
  a session is opened with the destination folder id, the file name and the file's size; the server
  answers with the session: its id, the part_size it chose, how many parts the file makes, and absolute
  URLs for every later call. Box accepts files of 20 MB and more, so the kit's files are 21 MB.

  @S-CREATE @MUST @server
  Scenario: A valid create is answered 201 with a complete upload_session
    When a session is opened for a 21000000-byte file
    Then the server answers 201 with an upload_session whose total_parts fits its part_size and whose endpoints are absolute URLs

  @S-CREATE-REJECT @MUST @server
  Scenario Outline: A create without <what> is refused with 400
    When a session is opened for a 21000000-byte file, <change>
    Then the server answers 400

    Examples:
      | what                 | change                        |
      | a folder_id          | leaving out folder_id         |
      | a file_name          | leaving out file_name         |
      | a file_size          | leaving out file_size         |
      | a numeric file_size  | giving file_size as "lots"    |
      | a positive file_size | giving file_size as -5        |
