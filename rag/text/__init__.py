"""Text knowledge shared by every stage: normalisation (width, script, whitespace), sentence and
clause splitting, jieba tokens for lexical search, the Chinese character classes, punctuation
sets and numerals (``chars``) and the units of measure (``units``, from ``data/units.tsv``),
each defined once here and imported wherever they are needed."""
