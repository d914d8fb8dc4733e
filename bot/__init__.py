"""Discord, console and command-line front ends over `briefings/` (the only layer with discord)."""
