"""Pure, deterministic computations over price and earnings frames."""
