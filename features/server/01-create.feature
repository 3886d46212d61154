Feature: Opening an upload session
  Box guide "Create Upload Session" (https://developer.box.com/guides/uploads/chunked/create-session/):
  a session is opened with the destination folder id, the file name and the file's size; the server
  answers with the session: its id, the part_size it chose, how many parts the file makes, and absolute
  URLs for every later call. Box accepts files of 20 MB and more: the kit's files are a little over 20 MB,
  or a few parts where the server opens sessions for smaller files (one file over 20 MB always stays).

  @S-CREATE @MUST @server
  Scenario: Every valid create is answered 201 with an upload_session whose total_parts fits its part_size
    # total_parts = ceil(file_size/part_size) is judged where it is easiest to get wrong: exact multiples and a byte either side.
    # A single-part file is under Box's 20 MB minimum when part_size is Box's: a server may refuse it with a 4xx.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | file      | exact multiple / one byte over / one byte under / half a part over / over 20 MB / a single part |
    Then every create was answered as its case expects

  @S-CREATE-REJECT @MUST @server
  Scenario: A create with any field missing or invalid is refused with 400
    # Each field with each value that fits it (a number is a wrong type for file_name, not for file_size); 2^53 is past
    # JSON's safe integers, and any 4xx refuses it.
    When every case of the rule's probe space is sent:
      | dimension | values |
      | field     | folder_id / file_name / file_size |
      | value     | missing / empty / null / a boolean / a number / 256 characters / a string of digits / zero / negative / fractional / 2^53 |
    Then every create was answered as its case expects
