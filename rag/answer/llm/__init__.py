"""Generative answers: the chat client with its deadline, the answerer and its prompt, and the
verification of each generated sentence against the numbered sources it cites."""
