"""The clip library: add physio-labelled clips (consent checked), search, record runs, verify, repair and erase."""
