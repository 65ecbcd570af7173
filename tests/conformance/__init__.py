"""Cross-protocol conformance matrix (issue 3): every official SDK client × every upstream kind ×
every case, end to end through a real gateway in front of the simulator."""
