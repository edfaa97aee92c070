"""Cross-scale carbon accounting: plain Python on pandas frames, testable without Prefect."""
