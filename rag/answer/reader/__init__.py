"""The extractive reader: analyse the question, pick the sentence and the span that answer it,
decide how much to quote, or abstain when the sources do not support an answer."""
