"""Market data: providers over HTTP, the shared rate limits and circuits that keep them polite, and
the refresh use cases (prices, history, asset info, benchmarks) that write what they return."""
