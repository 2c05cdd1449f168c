"""NYC TLC trip record files (yellow, green, FHVHV) and the zone lookup, into ``raw_tlc``."""
