"""The polite HTTP layer every source uses: retries, rate limits, robots.txt, redirects. It knows no site."""
