"""AutoPing: watch addresses and power-cycle (or run a function for) what stops answering."""
