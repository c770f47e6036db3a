"""Text knowledge shared by every stage: normalisation (width, script, whitespace), sentence and
clause splitting, jieba tokens for lexical search, and the Chinese character classes and
punctuation sets, each defined once here and imported wherever they are needed."""
