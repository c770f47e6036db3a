"""Adapters for the tools people plug a search service into: MCP clients and LangChain.

Each module imports its SDK itself, so importing :mod:`rag` never pulls them in.
"""
