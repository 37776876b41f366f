# A tracker of N pending items in flowtrack's text layout, on stdout: what the CLI benchmarks
# import (bench/cli, bench/ab).  python3 bench/lib/tracker.py N
import sys

n = int(sys.argv[1])
print("Bench tracker\n\nStarted: 2026-11-25\nOwner: bench\nObjective: measure\n\n")
print("Ground Rules for Agents\n\nWorkflow\n\nProgress Tracker\n\n\u2705 Completed\n\n\U0001f504 In Progress\n\n\u23f3 Pending\n")
for i in range(1, n + 1):
    print(f"  \u2022 Pending item number {i} with some words in it")
print("\n\U0001f6ab Out of Scope\n\nNotes & Follow-Ups\n")
