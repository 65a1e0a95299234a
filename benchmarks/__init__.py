"""Side-by-side performance figures for the course (not tests: nothing here asserts a time)."""
