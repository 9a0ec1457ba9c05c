"""Operations: load rows, call the pure cores, write, and commit once."""
