"""Generation: plans of requests, backends that answer them, and a resumable runner."""
