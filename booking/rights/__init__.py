"""A patient's data rights: everything held about them, and erasing them (admins only)."""
