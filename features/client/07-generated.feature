@generated @client
Feature: Generated cases: file sizes around part boundaries, and fault schedules
  The scenarios above pin the edges the guide's rules name. These let fast-check search for the case
  that breaks a client: file sizes at exact multiples of part_size, one byte either side, a single
  short part and files of many parts; and fault schedules of 503s, 429 + Retry-After, dropped
  connections and range_overlaps_existing_part on first attempts, with up to two 202 commits. Each case
  is one real client run; in every case every MUST rule must hold. A failure is shrunk to the smallest
  case that still breaks a rule, reported with the seed that replays it (--seed, --runs). Left out unless
  asked for with --generated, --runs or --seed.

  Scenario Outline: <rule> holds in every generated case
    When the client uploads generated files under generated fault schedules
    Then <rule> held in every generated case

    @C-CREATE @MUST
    Examples:
      | rule |
      | C-CREATE |

    @C-AUTH @MUST
    Examples:
      | rule |
      | C-AUTH |

    @C-PART-SIZE @MUST
    Examples:
      | rule |
      | C-PART-SIZE |

    @C-RANGE-FORMAT @MUST
    Examples:
      | rule |
      | C-RANGE-FORMAT |

    @C-RANGE-ALIGN @MUST
    Examples:
      | rule |
      | C-RANGE-ALIGN |

    @C-RANGE-UPPER @MUST
    Examples:
      | rule |
      | C-RANGE-UPPER |

    @C-RANGE-TOTAL @MUST
    Examples:
      | rule |
      | C-RANGE-TOTAL |

    @C-DIGEST @MUST
    Examples:
      | rule |
      | C-DIGEST |

    @C-NO-OVERLAP @MUST
    Examples:
      | rule |
      | C-NO-OVERLAP |

    @C-COVERAGE @MUST
    Examples:
      | rule |
      | C-COVERAGE |

    @C-OVERLAP-NOT-PERSISTED @MUST
    Examples:
      | rule |
      | C-OVERLAP-NOT-PERSISTED |

    @C-COMMIT-PARTS @MUST
    Examples:
      | rule |
      | C-COMMIT-PARTS |

    @C-COMMIT-DIGEST @MUST
    Examples:
      | rule |
      | C-COMMIT-DIGEST |

    @C-COMMIT-RETRY-AFTER @MUST
    Examples:
      | rule |
      | C-COMMIT-RETRY-AFTER |

    @C-SUCCESS-HONEST @MUST
    Examples:
      | rule |
      | C-SUCCESS-HONEST |
