"""``harvest mcp``: the file served to LLM agents over the Model Context Protocol (stdio), read-only. The tools
(``tools``) read through the query layer and the store opened read-only; the server (``server``) is the official
SDK's. Nothing here fetches or writes."""
