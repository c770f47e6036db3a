"""Search, the third stage: a question becomes ranked hits, dense and lexical candidates from the
store fused into one list with at most one hit per paragraph."""
