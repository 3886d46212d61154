Feature: Cutting the file into parts and labelling each with its byte range
  Box guide "Upload Part" (https://developer.box.com/guides/uploads/chunked/upload-part/):
  - Part Size: every part is exactly the session's part_size; only the last part of the file may be
    smaller.
  - Content Range: "Content-Range: bytes <lower>-<higher>/<total>", inclusive bounds; the lower bound
    is a multiple of part_size and the higher bound sits one byte before the next multiple.
  The sizes below hit the edges: an exact multiple of part_size, one byte more, and a file smaller
  than one part.

  Background:
    Given the server cuts files into parts of 1048576 bytes

  @C-PART-SIZE @MUST @client
  Scenario Outline: Parts are exactly part_size bytes, but the last (<file>)
    # Upload Part › Part Size
    Given a file of <file>
    When the client uploads the file
    Then every part but the last had exactly part_size bytes, and the last 1 to part_size bytes

    Examples:
      | file             |
      | exactly 4 parts  |
      | 3 parts and 1 byte |
      | 1000 bytes       |

  @C-RANGE-FORMAT @MUST @client
  Scenario Outline: Every part says which bytes it holds, and holds exactly those (<file>)
    # Upload Part › Content Range: "bytes <lower>-<higher>/<total>"
    Given a file of <file>
    When the client uploads the file
    Then every part carried "Content-Range: bytes <lo>-<hi>/<total>" and a body of hi-lo+1 bytes, the file's bytes lo to hi

    Examples:
      | file               |
      | 3 parts and 1 byte |
      | 1000 bytes         |

  @C-RANGE-ALIGN @MUST @client
  Scenario: Every part starts on a multiple of part_size
    # Upload Part › Content Range: the lower bound is a multiple of the part size.
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every part started at a multiple of part_size

  @C-RANGE-UPPER @MUST @client
  Scenario Outline: Every part ends one byte before the next boundary, the last at the end of the file (<file>)
    # Upload Part › Content Range: the higher bound is a multiple of the part size, minus 1.
    Given a file of <file>
    When the client uploads the file
    Then every part but the last ended at its offset plus part_size minus 1, and the last at the file size minus 1

    Examples:
      | file               |
      | exactly 4 parts    |
      | 3 parts and 1 byte |
      | 1000 bytes         |

  @C-RANGE-TOTAL @MUST @client
  Scenario: The total in every Content-Range is the file size
    # Upload Part › Content Range: "/<total>" is the size of the whole file.
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every Content-Range gave the file size as its total

  @C-CONTENT-TYPE @SHOULD @client
  Scenario: Parts are sent as raw bytes
    # API reference, Upload part: the body is application/octet-stream.
    Given a file of 3 parts and 1 byte
    When the client uploads the file
    Then every part was sent as "Content-Type: application/octet-stream"
