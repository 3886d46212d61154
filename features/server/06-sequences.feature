@server @sequences
Feature: Generated sequences of calls, judged against a model of the session
  The probe spaces above send each rule's cases one at a time. These let fast-check search for the order
  of calls that breaks a server: parts in any order, right and wrong (every way a part can be wrong, and
  other bytes into a stored range), listings at any offset and limit, status reads, commits of the parts
  stored or with the first left out, with the file's Digest or another, and aborts, each sequence in a new
  session of an exact multiple of part_size, a byte either side, or half a part over. What every answer
  must be follows from the kit's model of the session (what it sent, and what the server acknowledged),
  never from the server's other answers. A failing sequence is shrunk to the shortest that still fails and
  reported with its seed. The default run draws 6 sequences from a fixed seed; --server-depth wide draws 60
  (--seed replays a reported one).

  Scenario Outline: <rule> holds in every generated sequence
    When generated sequences of calls are sent, each to a new session
    Then <rule> held in every generated sequence

    @S-PART-OK @MUST
    Examples:
      | rule      |
      | S-PART-OK |

    @S-PART-SIZE-REJECT @MUST
    Examples:
      | rule               |
      | S-PART-SIZE-REJECT |

    @S-RANGE-ALIGN-REJECT @MUST
    Examples:
      | rule                 |
      | S-RANGE-ALIGN-REJECT |

    @S-RANGE-MALFORMED-REJECT @MUST
    Examples:
      | rule                     |
      | S-RANGE-MALFORMED-REJECT |

    @S-DIGEST-REJECT @MUST
    Examples:
      | rule            |
      | S-DIGEST-REJECT |

    @S-OVERLAP-REJECT @MUST
    Examples:
      | rule             |
      | S-OVERLAP-REJECT |

    @S-LIST-PARTS @MUST
    Examples:
      | rule         |
      | S-LIST-PARTS |

    @S-STATUS @MUST
    Examples:
      | rule     |
      | S-STATUS |

    @S-COMMIT-OK @MUST
    Examples:
      | rule        |
      | S-COMMIT-OK |

    @S-COMMIT-DIGEST-REJECT @MUST
    Examples:
      | rule                   |
      | S-COMMIT-DIGEST-REJECT |

    @S-COMMIT-INCOMPLETE-REJECT @MUST
    Examples:
      | rule                       |
      | S-COMMIT-INCOMPLETE-REJECT |

    @S-ABORT @MUST
    Examples:
      | rule    |
      | S-ABORT |
